"""Tenant isolation and role scoping across every object endpoint."""

from __future__ import annotations

from typing import Any

from tests.factories import TenantCtx


async def _populate(t: TenantCtx) -> dict[str, str]:
    uid, _ = await t.user("201", name="Secret Sam")
    number = await t.number("+14155550100", label="Secret line")
    group = (
        await t.admin.post(
            "/api/v1/groups",
            json={"name": "Secret group", "member_ids": [uid], "number_id": number["id"]},
        )
    ).json()
    contact = (
        await t.admin.post(
            "/api/v1/contacts", json={"name": "Secret contact", "numbers": ["+12025550123"]}
        )
    ).json()
    return {"users": uid, "numbers": number["id"], "groups": group["id"], "contacts": contact["id"]}


async def test_other_tenants_objects_are_404_everywhere(tenants):
    a, b = await tenants.make("Alpha"), await tenants.make("Beta")
    ids = await _populate(a)
    bodies: dict[str, dict[str, Any]] = {
        "users": {"name": "x"},
        "numbers": {"label": "x"},
        "groups": {"name": "x"},
        "contacts": {"name": "x"},
    }
    for kind, oid in ids.items():
        url = f"/api/v1/{kind}/{oid}"
        assert (await b.admin.get(url)).status_code == 404, url
        assert (await b.admin.patch(url, json=bodies[kind])).status_code == 404, url
        assert (await b.admin.delete(url)).status_code == 404, url
    r = await b.admin.put(f"/api/v1/numbers/{ids['numbers']}/assignees", json={"user_ids": []})
    assert r.status_code == 404
    for kind in ids:
        for params in ({}, {"q": "secret"}, {"q": "+1415"}, {"q": "201"}):
            items = (await b.admin.get(f"/api/v1/{kind}", params=params)).json()["items"]
            assert ids[kind] not in [x["id"] for x in items], (kind, params)
    # And tenant A still has everything.
    for kind, oid in ids.items():
        assert (await a.admin.get(f"/api/v1/{kind}/{oid}")).status_code == 200


ADMIN_ONLY = {
    ("POST", "/api/v1/users"),
    ("PATCH", "/api/v1/users/{user_id}"),
    ("DELETE", "/api/v1/users/{user_id}"),
    ("POST", "/api/v1/numbers"),
    ("PATCH", "/api/v1/numbers/{number_id}"),
    ("DELETE", "/api/v1/numbers/{number_id}"),
    ("PUT", "/api/v1/numbers/{number_id}/assignees"),
    ("POST", "/api/v1/groups"),
    ("PATCH", "/api/v1/groups/{group_id}"),
    ("DELETE", "/api/v1/groups/{group_id}"),
    ("PATCH", "/api/v1/tenant"),
    ("POST", "/api/v1/connectors"),
    ("PATCH", "/api/v1/connectors/{connector_id}"),
    ("POST", "/api/v1/simulator/inbound"),
    # Lists, blocklist and keywords (issue 5).
    ("POST", "/api/v1/lists"),
    ("PATCH", "/api/v1/lists/{list_id}"),
    ("DELETE", "/api/v1/lists/{list_id}"),
    ("POST", "/api/v1/lists/{list_id}/entries"),
    ("PATCH", "/api/v1/lists/{list_id}/entries/{entry_id}"),
    ("DELETE", "/api/v1/lists/{list_id}/entries/{entry_id}"),
    ("POST", "/api/v1/lists/{list_id}/import"),
    ("POST", "/api/v1/blocklist"),
    ("DELETE", "/api/v1/blocklist/{e164}"),
    ("POST", "/api/v1/blocklist/import"),
    ("PUT", "/api/v1/compliance/keywords"),
    ("PUT", "/api/v1/rating-rules"),
    ("POST", "/api/v1/campaigns"),
    ("POST", "/api/v1/campaigns/import"),
    ("PATCH", "/api/v1/campaigns/{campaign_id}"),
    ("POST", "/api/v1/campaigns/{campaign_id}/start"),
    ("POST", "/api/v1/campaigns/{campaign_id}/stop"),
    ("POST", "/api/v1/campaigns/{campaign_id}/restart"),
    ("POST", "/api/v1/messages/bulk"),
    ("PUT", "/api/v1/numbers/{number_id}/forwarding"),
    ("POST", "/api/v1/webhooks"),
    ("PATCH", "/api/v1/webhooks/{webhook_id}"),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"),
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"),
    ("POST", "/api/v1/mail-senders"),
    ("DELETE", "/api/v1/mail-senders/{sender_id}"),
}
ADMIN_ONLY_READS = [
    "/api/v1/blocklist",
    "/api/v1/lists",
    "/api/v1/compliance/keywords",
    "/api/v1/campaigns",
    "/api/v1/quarantine",
    "/api/v1/connectors",
    "/api/v1/simulator/outbox",
    "/api/v1/webhooks",
    "/api/v1/mail-senders",
    "/api/v1/rating-rules",
]
USER_WRITABLE = {
    ("POST", "/api/v1/contacts"),
    ("PATCH", "/api/v1/contacts/{contact_id}"),
    ("DELETE", "/api/v1/contacts/{contact_id}"),
    ("POST", "/api/v1/messages"),
    ("DELETE", "/api/v1/messages/{message_id}"),
    ("POST", "/api/v1/messages/{message_id}/retry"),
    ("POST", "/api/v1/conversations/{conversation_id}/read"),
    ("POST", "/api/v1/conversations/{conversation_id}/block"),
    ("POST", "/api/v1/conversations/{conversation_id}/unblock"),
    ("PUT", "/api/v1/conversations/{conversation_id}/mute"),
    ("DELETE", "/api/v1/conversations/{conversation_id}"),
    ("POST", "/api/v1/unread/mark-all-read"),
    ("POST", "/api/v1/click-to-sms"),
    ("PATCH", "/api/v1/me/preferences"),
}
# Authenticated by the carrier's request signature instead of an API key
# (tests/carriers/test_http_carrier.py checks that they refuse bad signatures).
CARRIER_SIGNED = {
    ("POST", "/api/v1/carriers/http/{connector_id}/inbound"),
    ("POST", "/api/v1/carriers/http/{connector_id}/status"),
}
VALID_BODIES: dict[str, Any] = {
    "/api/v1/users": {"extension": "555", "name": "X"},
    "/api/v1/numbers": {"e164": "+14155550199"},
    "/api/v1/groups": {"name": "X"},
    "/api/v1/numbers/{number_id}/assignees": {"user_ids": []},
    "/api/v1/numbers/{number_id}": {"label": "x"},
    "/api/v1/tenant": {"sms_enabled": False},
    "/api/v1/connectors": {"name": "x", "kind": "simulator"},
    "/api/v1/simulator/inbound": {"from": "+12025550123", "to": "+14155550100", "body": "x"},
    "/api/v1/numbers/{number_id}/forwarding": {"emails": ["ops@example.com"]},
    "/api/v1/webhooks": {"url": "http://127.0.0.1:9/h", "events": ["message.received"]},
    "/api/v1/webhooks/{webhook_id}": {"enabled": False},
    "/api/v1/mail-senders": {"email": "a@example.com", "number_id": "x"},
}


async def test_user_role_gets_403_on_every_admin_endpoint(tenants, app):
    t = await tenants.make()
    ids = await _populate(t)
    _, user = await t.user("202")
    paths = app.openapi()["paths"]
    api = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    writes = {(m, p) for m, p in api if m in {"POST", "PUT", "PATCH", "DELETE"}}
    # Every write endpoint is classified: a new one must be added to one of the sets.
    assert writes == ADMIN_ONLY | USER_WRITABLE | CARRIER_SIGNED
    connector = await t.admin.post("/api/v1/connectors", json={"name": "c", "kind": "simulator"})
    ids["connectors"] = connector.json()["id"]
    for method, path in sorted(ADMIN_ONLY):
        url = (
            path.replace("{user_id}", ids["users"])
            .replace("{number_id}", ids["numbers"])
            .replace("{group_id}", ids["groups"])
            .replace("{connector_id}", ids["connectors"])
        )
        body = VALID_BODIES.get(path, {"name": "x"})
        r = await user.request(method, url, json=None if method == "DELETE" else body)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == "admin_required"
    for path in ADMIN_ONLY_READS:
        r = await user.get(path)
        assert r.status_code == 403 and r.json()["error"]["code"] == "admin_required", path
    # Nothing was changed by those attempts.
    assert (await t.admin.get(f"/api/v1/users/{ids['users']}")).json()["name"] == "Secret Sam"
