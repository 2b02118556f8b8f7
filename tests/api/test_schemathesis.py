"""Fuzz the whole API from its OpenAPI document: no input may cause a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import truncate_all
from tests.live import Server, create_tenant, serve


@pytest.fixture(scope="module")
def fuzz_server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    truncate_all(db_url)
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    tenant = create_tenant(db_url, "Fuzz Co")
    with serve(db_url, tmp, ["--only", "web"]) as server:
        server.key = tenant["api_key"]  # type: ignore[attr-defined]
        yield server


@pytest.fixture(scope="module")
def api_schema(fuzz_server: Server) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(fuzz_server.url + "/openapi.json")


# The event stream never ends; it has tests of its own (tests/realtime).
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path="/api/v1/events")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case, fuzz_server: Server) -> None:
    response = case.call(
        base_url=fuzz_server.url,
        headers={"Authorization": f"Bearer {fuzz_server.key}"},  # type: ignore[attr-defined]
        timeout=10,
    )
    assert response.status_code < 500, (case.method, case.path, response.text)
    if response.status_code >= 400:
        assert "error" in response.json(), response.text
