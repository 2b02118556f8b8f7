"""Test databases: every test that asks for `db_url` runs on SQLite, and on PostgreSQL too
when SMSHUB_TEST_POSTGRES_URL is set. Each run gets a fresh PostgreSQL database, and every
test starts from empty tables."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from smshub.app import create_app
from smshub.config import Settings
from smshub.kit.db import create_engine as create_async
from smshub.kit.db import session_factory, sync_url
from smshub.kit.migrate import upgrade
from smshub.models import Base
from smshub.realtime.hub import Hub
from tests.factories import Tenants

PG_URL = os.environ.get("SMSHUB_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgres"] if PG_URL else ["sqlite"]


def _create_pg_database(base_url: str) -> tuple[str, str]:
    name = f"smshub_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(sync_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(sync_url(base_url)).set(database=name)
    return url.render_as_string(hide_password=False), name


def _drop_pg_database(base_url: str, name: str) -> None:
    admin = create_engine(sync_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    assert PG_URL
    url, name = _create_pg_database(PG_URL)
    upgrade(url)
    yield url
    _drop_pg_database(PG_URL, name)


def truncate_all(url: str) -> None:
    engine = create_engine(sync_url(url))
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if url.startswith("sqlite"):
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
            # Deleting conversation states fires the unread-total triggers (0007).
            conn.execute(text('DELETE FROM "unread_totals"'))
        else:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    engine.dispose()


@pytest.fixture
def clean_db(db_url: str) -> str:
    """The database URL, with every table emptied first."""
    truncate_all(db_url)
    return db_url


@pytest.fixture
async def engine(clean_db: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async(clean_db)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


# API fixtures: an in-process app and tenants with API clients.


@pytest.fixture
async def app(clean_db: str) -> AsyncIterator[FastAPI]:
    application = create_app(Settings(database_url=clean_db))
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def hub(app: FastAPI) -> AsyncIterator[Hub]:
    """The app's event hub, started, for tests that subscribe to it directly."""
    await app.state.hub.start()
    yield app.state.hub
    await app.state.hub.stop()


@pytest.fixture
async def tenants(app: FastAPI) -> AsyncIterator[Tenants]:
    factory = Tenants(app)
    yield factory
    await factory.close()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    from smshub.kit.cache import cache

    cache.invalidate()
