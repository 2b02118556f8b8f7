"""The command line as API.md fixes it, run as real processes."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from tests.conftest import truncate_all
from tests.live import SMSHUB, cli, create_tenant, env_for, serve


def test_tenant_and_apikey_create_print_json(db_url, tmp_path):
    truncate_all(db_url)
    tenant = create_tenant(db_url, "Acme Ltd")
    assert set(tenant) == {"tenant_id", "user_id", "api_key"}
    key = json.loads(
        cli(
            db_url,
            "apikey",
            "create",
            "--tenant-id",
            tenant["tenant_id"],
            "--extension",
            "100",
            "--json",
        )
    )["api_key"]
    with serve(db_url, tmp_path, ["--only", "web"]) as server:
        for k in (tenant["api_key"], key):
            me = httpx.get(server.url + "/api/v1/me", headers={"Authorization": f"Bearer {k}"})
            assert me.status_code == 200 and me.json()["tenant"]["name"] == "Acme Ltd"


@pytest.mark.parametrize(
    "args,needle",
    [
        (
            [
                "tenant",
                "create",
                "Acme Ltd",
                "--admin-extension",
                "1x",
                "--admin-name",
                "A",
                "--admin-password",
                "secret-pass",
            ],
            "extension",
        ),
        (
            [
                "tenant",
                "create",
                "Acme Ltd",
                "--admin-extension",
                "100",
                "--admin-name",
                "A",
                "--admin-password",
                "short",
            ],
            "password",
        ),
        (["apikey", "create", "--tenant-id", "nope", "--extension", "100"], "tenant"),
    ],
)
def test_cli_errors_are_clear(db_url, args, needle):
    truncate_all(db_url)
    done = subprocess.run([SMSHUB, *args], env=env_for(db_url), capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert needle in done.stderr.lower() and "Traceback" not in done.stderr


def test_duplicate_tenant_is_refused(db_url):
    truncate_all(db_url)
    create_tenant(db_url, "Acme Ltd")
    done = subprocess.run(
        [
            SMSHUB,
            "tenant",
            "create",
            "ACME ltd",
            "--admin-extension",
            "100",
            "--admin-name",
            "A",
            "--admin-password",
            "secret-pass",
        ],
        env=env_for(db_url),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "exists already" in done.stderr


def test_db_upgrade_is_idempotent(tmp_path):
    url = f"sqlite:///{tmp_path}/fresh/smshub.db"
    cli(url, "db", "upgrade")
    cli(url, "db", "upgrade")
    assert (tmp_path / "fresh" / "smshub.db").exists()


def test_serve_demo_seeds_once_and_prints_the_login(tmp_path):
    url = f"sqlite:///{tmp_path}/demo.db"
    for _ in range(2):
        with serve(url, tmp_path, ["--demo", "--only", "web"]) as server:
            r = httpx.get(server.url + "/login")
            assert r.status_code == 200
        log = server.log.read_text()
        assert "demo-co" in log and "demo1234" in log
