"""The connectors page (K1 health for operators) and /metrics."""

from __future__ import annotations

from smshub.carriers import metrics
from smshub.carriers.base import SubmitResult, TransientCarrierError
from tests.web.conftest import Browser


async def test_connectors_page_shows_state_throughput_and_errors(admin: Browser, acme, app):
    r = await acme.admin.post(
        "/api/v1/connectors",
        json={
            "name": "Main SMSC",
            "kind": "smpp",
            "throughput": 50,
            "config": {"host": "127.0.0.1", "port": 1, "system_id": "esme", "password": "pw"},
        },
    )
    assert r.status_code == 201, r.text
    smpp_id = r.json()["id"]
    r = await acme.admin.post("/api/v1/connectors", json={"name": "Sim", "kind": "simulator"})
    sim_id = r.json()["id"]
    metrics.count_results(sim_id, [SubmitResult("a"), SubmitResult("b")])
    metrics.count_results(sim_id, [TransientCarrierError("link <down>")])
    page = await admin.get("/connectors")
    assert page.status_code == 200
    assert "Main SMSC" in page.text and "50 msg/s" in page.text
    assert f'data-connector="{smpp_id}"' in page.text and "disconnected" in page.text
    assert "2 (0.0 msg/s)" in page.text
    assert "link &lt;down&gt;" in page.text  # escaped
    assert "pw" not in page.text.split("<main", 1)[-1].replace("password", "")


async def test_connectors_page_is_admin_only(browsers, acme):
    await acme.user("201", password="secret-pass-1")
    user = browsers.new()
    await user.login("acme", "201")
    r = await user.get("/connectors")
    assert r.status_code == 403


async def test_metrics_exposes_per_connector_counters(app, acme):
    metrics.count_results("c-metrics", [SubmitResult("x")])
    r = await acme.admin.get("/metrics")
    assert r.status_code == 200
    assert 'smshub_carrier_submits_total{connector="c-metrics"}' in r.text
    assert "smshub_carrier_throttles_total" in r.text


async def test_metrics_token_guards_the_endpoint(app, acme):
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": "s3cret-scrape"})
    anon = acme.admin  # a tenant admin's API key is not the scrape token
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-scrape"}):
        r = await anon.get("/metrics", headers=headers)
        assert r.status_code == 401, headers
        assert "SMSHUB_METRICS_TOKEN" in r.text
        assert r.headers["www-authenticate"].startswith("Bearer")
    r = await anon.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
    assert r.status_code == 200
    assert "smshub_carrier_submits_total" in r.text
