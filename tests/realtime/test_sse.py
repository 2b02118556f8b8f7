"""GET /events over real HTTP connections.

Two kinds of server, because events must come from real commits:
- the app in a uvicorn thread of this process, with a test-only route that emits an event
  inside the request's committed transaction (the messaging domain will replace it). This
  runs on SQLite and PostgreSQL (where the event goes through NOTIFY and back). A thread,
  because httpx's ASGITransport buffers a whole response and an SSE stream never ends;
- `smshub serve` as a real process: on PostgreSQL a commit in *this* process reaches its
  streams (multi-process delivery), and on both engines SIGTERM ends open streams at once.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from smshub.app import create_app
from smshub.auth import service as auth_service
from smshub.config import Settings
from smshub.kit.db import create_engine, session_factory, unit_of_work
from smshub.kit.deps import DB, SESSION_COOKIE
from smshub.kit.ids import new_id
from smshub.kit.outbox import emit, session_info
from smshub.realtime import endpoints
from smshub.realtime.hub import Hub, PostgresHub
from tests.live import create_tenant, free_port, serve

WAIT_S = 10.0
TIMEOUT = httpx.Timeout(10, read=60)


@dataclass
class SSE:
    event: str
    id: str | None
    data: dict[str, Any]


class Stream:
    """Parses one SSE response in a background task; `next()` waits, bounded."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.events: asyncio.Queue[SSE | None] = asyncio.Queue()
        self.comments = 0
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        fields: dict[str, str] = {}
        try:
            async for line in self.response.aiter_lines():
                if not line:
                    if "data" in fields:
                        data = json.loads(fields["data"])
                        self.events.put_nowait(
                            SSE(fields.get("event", "message"), fields.get("id"), data)
                        )
                    fields = {}
                elif line.startswith(":"):  # a comment: the keepalive pings
                    self.comments += 1
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    fields[name] = fields[name] + "\n" + value if name in fields else value
        except httpx.HTTPError:
            pass
        finally:
            self.events.put_nowait(None)

    async def next(self) -> SSE:
        item = await asyncio.wait_for(self.events.get(), WAIT_S)
        assert item is not None, "the stream ended"
        return item

    async def ended(self) -> bool:
        return await asyncio.wait_for(self.events.get(), WAIT_S) is None


@asynccontextmanager
async def open_stream(url: str, **kwargs: Any) -> AsyncIterator[Stream]:
    """An SSE stream whose `ready` event has arrived, so the subscription is live."""
    async with (
        httpx.AsyncClient(timeout=TIMEOUT) as client,
        client.stream("GET", url + "/api/v1/events", **kwargs) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        try:
            ready = await stream.next()
            assert ready.event == "ready" and ready.data == {"type": "ready"}
            stream.ready = ready  # type: ignore[attr-defined]
            yield stream
        finally:
            stream.task.cancel()
            await asyncio.gather(stream.task, return_exceptions=True)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- the app in a uvicorn thread, with a route that commits an event --------------------------


class EmitBody(BaseModel):
    type: str = "test.event"
    user_ids: list[str]
    data: dict[str, Any]


async def _emit_route(body: EmitBody, session: DB) -> dict[str, str]:
    emit(session, body.type, "t", body.user_ids, body.data)
    return {}


@contextmanager
def thread_server(app: FastAPI) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(WAIT_S)
        assert not thread.is_alive(), "server did not stop"


@dataclass
class Caller:
    user_id: str
    key: str
    slug: str


@pytest.fixture
async def callers(sessions: async_sessionmaker[AsyncSession]) -> list[Caller]:
    made = []
    for name in ("Alpha Co", "Beta Co"):
        async with unit_of_work(sessions) as session:
            tenant, user, key = await auth_service.create_tenant(
                session, name, admin_extension="100", admin_name="A", admin_password="pw-123456"
            )
        made.append(Caller(user.id, key, tenant.slug))
    return made


@pytest.fixture
def app(clean_db: str) -> FastAPI:
    application = create_app(Settings(database_url=clean_db))
    application.router.add_api_route("/test/emit", _emit_route, methods=["POST"])
    return application


@pytest.fixture
def url(app: FastAPI) -> Iterator[str]:
    with thread_server(app) as base:
        yield base


async def eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def commit_event(url: str, user_ids: list[str], **data: Any) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        r = await client.post(url + "/test/emit", json={"user_ids": user_ids, "data": data})
        assert r.status_code == 200, r.text


async def test_events_reach_only_their_users(url: str, app: FastAPI, callers: list[Caller]) -> None:
    a, b = callers
    hub: Hub = app.state.hub
    async with (
        open_stream(url, headers=bearer(a.key)) as on_a,
        open_stream(url, headers=bearer(b.key)) as on_b,
    ):
        await commit_event(url, [b.user_id], n=1)
        await commit_event(url, [a.user_id], n=2, body="hé €")
        await commit_event(url, [a.user_id, b.user_id], n=3)
        got_a = [await on_a.next(), await on_a.next()]
        got_b = [await on_b.next(), await on_b.next()]
        assert hub.subscriber_count() == 2
    await eventually(lambda: hub.subscriber_count() == 0)  # disconnects unsubscribe
    assert [e.data for e in got_a] == [
        {"n": 2, "body": "hé €", "type": "test.event"},
        {"n": 3, "type": "test.event"},
    ]
    assert [e.data["n"] for e in got_b] == [1, 3]
    assert all(e.event == "test.event" and e.id for e in got_a + got_b)
    assert got_a[1].id == got_b[1].id  # one event, two recipients


async def test_reconnect_with_last_event_id_replays_missed_events(
    url: str, callers: list[Caller]
) -> None:
    a, b = callers
    async with open_stream(url, headers=bearer(a.key)) as stream:
        start = stream.ready.id  # type: ignore[attr-defined]
        await commit_event(url, [a.user_id], n=1)
        first = await stream.next()
    await commit_event(url, [a.user_id], n=2)
    await commit_event(url, [b.user_id], n=99)
    await commit_event(url, [a.user_id], n=3)
    headers = {**bearer(a.key), "Last-Event-ID": first.id or ""}
    async with open_stream(url, headers=headers) as stream:
        assert stream.ready.id is None  # type: ignore[attr-defined]
        assert [(await stream.next()).data["n"] for _ in range(2)] == [2, 3]
    # Without the header (an EventSource polyfill), the query parameter does the same.
    async with open_stream(url, headers=bearer(a.key), params={"last_event_id": start}) as stream:
        assert [(await stream.next()).data["n"] for _ in range(3)] == [1, 2, 3]


async def test_unknown_last_event_id_asks_for_a_resync(url: str, callers: list[Caller]) -> None:
    headers = {**bearer(callers[0].key), "Last-Event-ID": new_id()}
    async with open_stream(url, headers=headers) as stream:
        resync = await stream.next()
        assert resync.event == "resync"
        assert resync.data == {"reason": "too_old", "type": "resync"}
        await commit_event(url, [callers[0].user_id], n=1)
        assert (await stream.next()).data["n"] == 1


async def test_web_session_cookie_authenticates_the_stream(
    url: str, callers: list[Caller], sessions: async_sessionmaker[AsyncSession]
) -> None:
    a = callers[0]
    async with unit_of_work(sessions) as session:
        token = await auth_service.login(session, a.slug, "100", "pw-123456", ttl_s=600)
    async with open_stream(url, cookies={SESSION_COOKIE: token}) as stream:
        await commit_event(url, [a.user_id], n=1)
        assert (await stream.next()).data["n"] == 1


async def test_idle_streams_get_keepalive_pings(
    url: str, callers: list[Caller], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert endpoints.PING_S == 15
    monkeypatch.setattr(endpoints, "PING_S", 0.1)
    async with open_stream(url, headers=bearer(callers[0].key)) as stream:
        await eventually(lambda: stream.comments >= 3)
        assert stream.events.empty()


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "unauthenticated"),
        ({"Authorization": "Bearer nope"}, "invalid_api_key"),
        ({"Authorization": "Basic eDp5"}, "invalid_api_key"),
    ],
)
async def test_unauthenticated_requests_get_401_json(
    url: str, headers: dict[str, str], code: str
) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        r = await client.get(url + "/api/v1/events", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == code


# --- `smshub serve` as a real process ---------------------------------------------------------


async def test_sigterm_ends_open_streams_and_the_server_exits(
    clean_db: str, tmp_path: Path
) -> None:
    tenant = create_tenant(clean_db, "Shutdown Co")
    with serve(clean_db, tmp_path) as server:
        async with open_stream(server.url, headers=bearer(tenant["api_key"])) as stream:
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(server.proc.wait, WAIT_S)
            elapsed = time.monotonic() - started
            print(f"SIGTERM with an open stream -> exit in {elapsed:.2f} s")
            assert await stream.ended()
    # uvicorn re-raises the signal it caught once it has shut down cleanly.
    log = server.log.read_text()
    assert code in (0, -signal.SIGTERM), log[-2000:]
    assert "ERROR" not in log and "Application shutdown complete" in log, log[-2000:]
    assert elapsed < 4, f"took {elapsed:.1f}s to exit"


async def test_a_commit_in_another_process_reaches_the_servers_streams(
    clean_db: str, tmp_path: Path
) -> None:
    if not clean_db.startswith("postgres"):
        pytest.skip("several processes share events through PostgreSQL only")
    tenant = create_tenant(clean_db, "Scale Co")
    hub = PostgresHub(clean_db, listen=False)
    engine = create_engine(clean_db)
    sessions = session_factory(engine, info=session_info(hub, None))
    await hub.start()
    try:
        with serve(clean_db, tmp_path, ["--only", "web"]) as server:
            async with open_stream(server.url, headers=bearer(tenant["api_key"])) as stream:
                for n in (1, 2):
                    started = time.perf_counter()
                    async with unit_of_work(sessions) as session:
                        emit(
                            session,
                            "test.event",
                            tenant["tenant_id"],
                            [tenant["user_id"]],
                            {"n": n},
                        )
                    got = await stream.next()  # the second proves the first came once
                    ms = (time.perf_counter() - started) * 1000
                    print(f"commit->SSE across processes: {ms:.1f} ms")
                    assert (got.event, got.data) == ("test.event", {"n": n, "type": "test.event"})
    finally:
        await hub.stop()
        await engine.dispose()
