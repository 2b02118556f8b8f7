"""An app whose mail relay is a loopback SMTP sink, and its job runner."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI

from smshub.app import create_app
from smshub.config import Settings
from smshub.mail.inbound import start_listener
from tests.factories import Tenants
from tests.live import free_port
from tests.peers import SmtpSink, smtp_sink

DOMAIN = "sms.example.test"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as s:
        yield s


@pytest.fixture
def fwd_settings(clean_db: str, sink: SmtpSink) -> Settings:
    return Settings(
        database_url=clean_db,
        smtp_relay=sink.relay,
        smtp_listen=f"127.0.0.1:{free_port()}",
        mail_domain=DOMAIN,
        mail_from=f"smshub@{DOMAIN}",
        secret_key="test-secret-key",
    )


@pytest.fixture
async def fapp(fwd_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(fwd_settings)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def ftenants(fapp: FastAPI) -> AsyncIterator[Tenants]:
    factory = Tenants(fapp)
    yield factory
    await factory.close()


@pytest.fixture
async def listener(fapp: FastAPI, fwd_settings: Settings) -> AsyncIterator[int]:
    """Our inbound SMTP listener on a free loopback port; yields the port."""
    server = await start_listener(fwd_settings, fapp.state.sessions)
    assert server is not None
    yield int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
