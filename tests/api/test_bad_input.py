"""Garbage in gets a 4xx in the error shape, never a 500."""

from __future__ import annotations

import pytest


def assert_error_shape(r, status=None):
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    if status:
        assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) >= {"code", "message", "field"} and err["message"]
    return err


@pytest.mark.parametrize(
    "path", ["/api/v1/users", "/api/v1/numbers", "/api/v1/groups", "/api/v1/contacts"]
)
async def test_malformed_json(tenants, path):
    t = await tenants.make()
    for raw in (b"{", b"not json", b"\xff\xfe", b"[1,2", b'{"a":}'):
        r = await t.admin.post(path, content=raw, headers={"content-type": "application/json"})
        err = assert_error_shape(r, 422)
        assert err["code"] == "invalid_json"


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("/api/v1/users", {"extension": 201, "name": "x"}, "extension"),
        ("/api/v1/users", {"extension": "201", "name": ["x"]}, "name"),
        ("/api/v1/users", {"extension": "2a1", "name": "x"}, "extension"),
        ("/api/v1/users", {"extension": "201", "name": "x", "role": "root"}, "role"),
        ("/api/v1/users", {"extension": "201", "name": "x", "password": "short"}, "password"),
        ("/api/v1/users", {"extension": "201", "name": "x" * 10_000}, "name"),
        ("/api/v1/users", {"extension": "201", "name": "x", "bogus": 1}, "bogus"),
        ("/api/v1/users", {"name": "x"}, "extension"),
        ("/api/v1/users", [], None),
        ("/api/v1/numbers", {"e164": 61400123456}, "e164"),
        ("/api/v1/numbers", {"e164": "+" + "1" * 10_000}, "e164"),
        ("/api/v1/numbers", {"e164": "+14155550100", "sms_enabled": "maybe"}, "sms_enabled"),
        ("/api/v1/numbers", {"e164": "+14155550100", "label": "x" * 10_000}, "label"),
        ("/api/v1/groups", {"name": "x", "member_ids": "abc"}, "member_ids"),
        ("/api/v1/contacts", {"name": "x", "numbers": [{"e164": None}]}, "numbers.0.e164"),
        ("/api/v1/contacts", {"name": "x", "email": "a@b.c" + "x" * 10_000}, "email"),
    ],
)
async def test_wrong_types_and_sizes(tenants, path, body, field):
    t = await tenants.make()
    err = assert_error_shape(await t.admin.post(path, json=body), 422)
    assert err["field"] == field
    if field:
        assert field in err["message"]


async def test_bad_ids_and_query_params(tenants):
    t = await tenants.make()
    assert_error_shape(await t.admin.get("/api/v1/users/" + "x" * 10_000), 404)
    assert_error_shape(await t.admin.get("/api/v1/numbers", params={"limit": 0}), 422)
    assert_error_shape(await t.admin.get("/api/v1/numbers", params={"limit": "many"}), 422)
    assert_error_shape(await t.admin.get("/api/v1/contacts", params={"q": "x" * 10_000}), 422)
    assert_error_shape(await t.admin.get("/api/v1/nope"), 404)
    assert_error_shape(await t.admin.delete("/api/v1/me"), 405)
