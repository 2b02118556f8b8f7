"""GET /events: the caller's realtime events as Server-Sent Events.

Each event is `event: <type>`, `id: <event id>`, `data: <JSON of its data plus "type">`.
The stream opens with `event: ready` whose id is the current position, so a client that
reconnects sends it back as `Last-Event-ID` even if nothing happened in between. A client
that cannot set headers passes `?last_event_id=` instead. `event: resync` means events
were lost for this client (too old to replay, too slow, a gap): reload the state.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from smshub.auth.actor import Actor
from smshub.kit.db import unit_of_work
from smshub.kit.deps import authenticate, authenticator
from smshub.kit.outbox import Event
from smshub.realtime.hub import Hub, Subscription

router = APIRouter(tags=["events"])
PING_S = 15
# Less than uvicorn's --timeout-graceful-shutdown, so streams end before it gives up.
SHUTDOWN_GRACE_S = 1.0
READY = "ready"


@authenticator
async def _stream_actor(request: Request) -> Actor:
    """Authenticate in a transaction of its own, closed before streaming: a stream lives
    for hours and must not hold a database connection (the `DB` dependency would)."""
    async with unit_of_work(request.app.state.sessions) as session:
        return await authenticate(request, session)


StreamActor = Annotated[Actor, Depends(_stream_actor)]
LastEventIdHeader = Annotated[
    str | None,
    Header(alias="Last-Event-ID", max_length=64, description="Resume after this event."),
]
LastEventIdQuery = Annotated[
    str | None,
    Query(max_length=64, description="Like the Last-Event-ID header, for clients without it."),
]


def to_sse(event: Event) -> ServerSentEvent:
    data = {**event.data, "type": event.type}
    return ServerSentEvent(
        data=json.dumps(data, separators=(",", ":")), event=event.type, id=event.id
    )


async def _stream(
    hub: Hub, user_id: str, last_event_id: str | None, shutdown: anyio.Event
) -> AsyncIterator[ServerSentEvent]:
    async with hub.subscribe(user_id, last_event_id) as sub:
        closer = asyncio.create_task(_close_on(shutdown, sub))
        try:
            # The ready event carries an id only on a fresh stream: when resuming, the
            # client's position is the one it sent, until replayed events move it.
            ready = json.dumps({"type": READY})
            yield ServerSentEvent(data=ready, event=READY, id=None if last_event_id else sub.cursor)
            async for event in sub:
                yield to_sse(event)
        finally:
            closer.cancel()


async def _close_on(shutdown: anyio.Event, sub: Subscription) -> None:
    """On server shutdown, end the stream by itself so the response completes cleanly
    (a cancelled one makes uvicorn log "returned without completing response")."""
    await shutdown.wait()
    sub.close()


@router.get(
    "/events",
    summary="Stream the caller's realtime events (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless stream."}},
)
async def events(
    request: Request,
    actor: StreamActor,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> EventSourceResponse:
    """message.created, message.status, unread.changed, campaign.progress, ..., for the
    calling extension only; a ping comment every 15 s keeps proxies from closing it."""
    hub: Hub = request.app.state.hub
    cursor = last_event_id_header or last_event_id or None
    shutdown = anyio.Event()
    return EventSourceResponse(
        _stream(hub, actor.user_id, cursor, shutdown),
        ping=PING_S,
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_S,
    )
