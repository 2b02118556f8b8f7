"""A `serve` process killed with pending forwards delivers them after a restart, and the
restarted `serve` answers replies on its SMTP listener: real processes, real SMTP and
HTTP peers on loopback."""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import httpx

from tests.conftest import truncate_all
from tests.live import create_tenant, free_port, serve
from tests.peers import http_receiver, smtp_sink

PHONE = "+12025550123"
DOMAIN = "sms.live.test"


def _setup(url: str, key: str, hook_url: str, callback_url: str) -> tuple[str, str]:
    c = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"})
    conn = c.post(
        "/api/v1/connectors",
        json={"name": "sim", "kind": "simulator", "config": {"delivery_delay_s": 0}},
    ).json()
    number = c.post(
        "/api/v1/numbers", json={"e164": "+14155550100", "connector_id": conn["id"]}
    ).json()
    r = c.put(
        f"/api/v1/numbers/{number['id']}/forwarding",
        json={
            "emails": ["ops@example.com"],
            "url_callback": {"template": callback_url + "?from={FROM}&msg={MESSAGE}"},
        },
    )
    assert r.status_code == 200, r.text
    hook = c.post("/api/v1/webhooks", json={"url": hook_url, "events": ["message.received"]})
    for i in range(3):
        r = c.post(
            "/api/v1/simulator/inbound",
            json={"from": PHONE, "to": number["e164"], "body": f"pending {i}"},
        )
        assert r.status_code == 202, r.text
    return number["e164"], hook.json()["secret"]


def test_pending_forwards_survive_a_kill_and_replies_work(db_url: str, tmp_path: Path) -> None:
    truncate_all(db_url)
    key = create_tenant(db_url, "Forward Co")["api_key"]
    smtp_port = free_port()
    with smtp_sink() as sink, http_receiver([(200, "ok")]) as peer:
        env = {
            "SMSHUB_SMTP_RELAY": sink.relay,
            "SMSHUB_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
            "SMSHUB_MAIL_DOMAIN": DOMAIN,
            "SMSHUB_MAIL_FROM": f"smshub@{DOMAIN}",
            "SMSHUB_JOB_LEASE_S": "2",
        }
        # Web only: the messages and their forwards commit, and nothing runs them. Kill it.
        with serve(db_url, tmp_path, ["--only", "web"], **env) as web:
            number, secret = _setup(web.url, key, peer.url + "/hook", peer.url + "/cb")
            web.kill()
        assert sink.mails == [] and peer.requests == []
        with serve(db_url, tmp_path, **env) as server:
            mails = sink.wait_for(3, timeout=30)
            requests = peer.wait_for(6, timeout=30)
            assert (
                sorted(str(m["Subject"]).split(" [#")[0] for _, _, m in mails)
                == [f"SMS from {PHONE} to {number}"] * 3
            )
            for i in range(3):
                assert sum(f"pending {i}" in m.get_content() for _, _, m in mails) == 1
            hooks = [r for r in requests if r.method == "POST"]
            callbacks = [r for r in requests if r.method == "GET"]
            assert len(hooks) == 3 and len(callbacks) == 3
            for r in hooks:
                t, v1 = (p.split("=", 1)[1] for p in r.headers["X-Smshub-Signature"].split(","))
                mac = hmac.new(secret.encode(), t.encode() + b"." + r.body, hashlib.sha256)
                assert mac.hexdigest() == v1
            # Reply by email to the live listener: the SMS goes out to the sender.
            reply = EmailMessage()
            reply["From"] = "ops@example.com"
            reply["To"] = str(mails[0][2]["Reply-To"])
            reply["Subject"] = "Re: " + str(mails[0][2]["Subject"])
            reply.set_content("Live answer\n\nOn Mon, x wrote:\n> pending 0")
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
                client.send_message(reply)
            c = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"})
            deadline = time.monotonic() + 20
            bodies: list[str] = []
            while time.monotonic() < deadline and "Live answer" not in bodies:
                items = c.get("/api/v1/simulator/outbox", params={"to": PHONE}).json()["items"]
                bodies = [x["body"] for x in items]
                time.sleep(0.1)
            assert bodies == ["Live answer"]


def test_serve_only_smtp_runs_the_listener_alone(db_url: str, tmp_path: Path) -> None:
    import subprocess

    from tests.live import SMSHUB, env_for

    port = free_port()
    env = env_for(db_url, SMSHUB_SMTP_LISTEN=f"127.0.0.1:{port}", SMSHUB_MAIL_DOMAIN=DOMAIN)
    log = (tmp_path / "smtp.log").open("wb")
    proc = subprocess.Popen(
        [SMSHUB, "serve", "--only", "smtp"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=5)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        with client:
            assert client.ehlo()[0] == 250
            client.mail("x@example.com")
            code, text = client.rcpt(f"reply+{'0' * 50}@{DOMAIN}")
            assert code == 550 and b"reply address" in text
    finally:
        proc.terminate()
        assert proc.wait(15) == 0
        log.close()
