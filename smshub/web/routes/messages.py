"""The message center (C1-C7): the conversation list, a thread and the composer.

The page is rendered here so the first paint is complete (list, selected thread, unread
counts) and deep links (/messages/{id}) work. `static/messages.js` then takes over from
the same data (the `mc-boot` JSON block): it calls the JSON API with the session cookie and
keeps every open client in sync through `/api/v1/events` (SSE). No polling.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import schemas as auth_schemas
from smshub.auth import service as auth_service
from smshub.auth.actor import Actor
from smshub.kit.deps import DB, Search
from smshub.messaging import schemas, views
from smshub.numbers import service as numbers_service
from smshub.web.deps import WebActor, WebRoute
from smshub.web.pages import clean_search
from smshub.web.render import pretty, render, static_url

router = APIRouter(route_class=WebRoute)
NAV = "messages"
LIST_PAGE = 30
THREAD_PAGE = 40


async def _me(request: Request, session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """What the composer and the notifications need to know about the caller."""
    user = await auth_service.access_user_by_id(session, actor, actor.user_id)
    tenant = await auth_service.get_tenant(session, actor.tenant_id)
    numbers = await numbers_service.numbers_of(session, actor)
    blocked = auth_service.sms_block(request.app.state.settings.sms_enabled, tenant, user)
    return {
        "user": {"id": actor.user_id, "extension": actor.extension, "name": actor.name},
        "is_admin": actor.is_admin,
        "numbers": [n.model_dump(mode="json") for n in numbers],
        "policy": {
            "max_segments": tenant.max_segments,
            "max_chars": tenant.max_chars,
            "smart_encoding": tenant.smart_encoding,
        },
        "preferences": auth_schemas.Preferences.model_validate(user).model_dump(mode="json"),
        "sms_enabled": blocked is None,
        "sms_disabled_reason": blocked,
    }


def _pretty_map(
    me: dict[str, Any],
    conversations: list[schemas.ConversationOut],
    messages: list[schemas.MessageOut],
) -> dict[str, str]:
    """Display forms of the numbers on the page, so the script shows them like the server."""
    numbers = {n["e164"] for n in me["numbers"]}
    for c in conversations:
        numbers |= {c.remote, c.number.e164}
    for m in messages:
        numbers |= {m.from_, m.to}
    return {n: pretty(n) for n in numbers}


async def _page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    conversation_id: str | None,
    q: str | None = None,
) -> Response:
    me = await _me(request, session, actor)
    q = clean_search(q)
    page = await views.list_conversations(
        session, actor, q=q, unread_only=False, cursor=None, limit=LIST_PAGE
    )
    selected: schemas.ConversationOut | None = None
    thread = schemas.MessagePage(items=[])
    if conversation_id is not None:
        selected = await views.get_conversation(session, actor, conversation_id)
        thread = await views.thread(session, actor, conversation_id, cursor=None, limit=THREAD_PAGE)
    unread = await views.unread(session, actor)
    messages = list(reversed(thread.items))  # the API pages newest first; a thread reads down
    boot = {
        "me": me,
        "conversations": page.model_dump(mode="json", by_alias=True),
        "selected": selected.model_dump(mode="json") if selected else None,
        "thread": {
            "items": [m.model_dump(mode="json", by_alias=True) for m in messages],
            "next_cursor": thread.next_cursor,
        },
        "unread_total": unread.total,
        "q": q or "",
        "sound_url": static_url("sounds/notify.wav"),
        "pretty": _pretty_map(me, [*page.items, *([selected] if selected else [])], messages),
    }
    return render(
        request,
        "messages/index.html",
        {
            "me": me,
            "conversations": page.items,
            "next_cursor": page.next_cursor,
            "selected": selected,
            "messages": messages,
            "older_cursor": thread.next_cursor,
            "unread_total": unread.total,
            "q": q or "",
            "boot": boot,
        },
        actor=actor,
        nav=NAV,
    )


@router.get("/messages")
async def message_center(
    request: Request, session: DB, actor: WebActor, q: Search = None
) -> Response:
    return await _page(request, session, actor, None, q)


@router.get("/messages/{conversation_id}")
async def conversation_page(
    request: Request, session: DB, actor: WebActor, conversation_id: str
) -> Response:
    """A deep link to one thread; another user's or tenant's conversation is a 404."""
    return await _page(request, session, actor, conversation_id)
