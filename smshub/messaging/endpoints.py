"""REST: /messages, /conversations, /unread, /click-to-sms, /quarantine."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response

from smshub.auth.actor import check_admin
from smshub.kit.db import commit
from smshub.kit.deps import DB, CurrentActor, Cursor, Limit, Search
from smshub.kit.errors import InvalidInput
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.messaging import inbox, schemas, service, views
from smshub.messaging import repository as repo

router = APIRouter(tags=["messages"])
IDEMPOTENCY_KEY_MAX = 120
# Documented here and read by `_idempotency_key`: as a FastAPI Header parameter it cost
# a walk over every request header on each send.
IDEMPOTENCY_KEY_DOC: dict[str, Any] = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Retry-safe key.",
            "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
        }
    ]
}


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
        raise InvalidInput(
            f"header.Idempotency-Key: must be at most {IDEMPOTENCY_KEY_MAX} characters.",
            field="header.Idempotency-Key",
        )
    return key or None


def _accepted(sent: service.Sent) -> schemas.MessageAccepted:
    return schemas.MessageAccepted(
        id=sent.message_id,
        conversation_id=sent.conversation_id,
        status=sent.status,
        encoding=sent.info.encoding,
        segments=sent.info.segments,
    )


@router.post(
    "/messages",
    response_model=schemas.MessageAccepted,
    status_code=202,
    openapi_extra=IDEMPOTENCY_KEY_DOC,
)
async def send_message(
    request: Request, session: DB, actor: CurrentActor, data: schemas.MessageCreate
) -> schemas.MessageAccepted:
    """Queue an SMS. It is stored, with its send job, before this answers."""
    idempotency_key = _idempotency_key(request)
    prepared = await service.prepare_send(
        session,
        actor,
        from_e164=data.from_,
        to_e164=data.to,
        body=data.body,
        system_sms=request.app.state.settings.sms_enabled,
        smart=data.smart_encoding,
        client_key=idempotency_key,
    )
    if isinstance(prepared, service.Sent):
        return _accepted(prepared)
    if idempotency_key:  # the unique key is checked in this request's own transaction
        return _accepted((await service.queue_outbound(session, [prepared]))[0])
    # Release this request's connection before joining the shared batch transaction.
    await commit(session)
    return _accepted(await request.app.state.batcher.submit(prepared))


@router.get("/messages", response_model=schemas.MessagePage)
async def list_messages(
    session: DB,
    actor: CurrentActor,
    direction: Literal["in", "out"] | None = None,
    number: Annotated[str | None, Query(max_length=32)] = None,
    contact: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: Search = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> schemas.MessagePage:
    filters = {
        "direction": direction,
        "number": number,
        "contact": contact,
        "since": since,
        "until": until,
        "q": q,
    }
    return await views.list_messages(session, actor, filters, cursor=cursor, limit=limit)


@router.get("/messages/{message_id}", response_model=schemas.MessageOut)
async def get_message(session: DB, actor: CurrentActor, message_id: str) -> schemas.MessageOut:
    message = await views.access_message_by_id(session, actor, message_id)
    return (await views.present_messages(session, [message]))[0]


@router.delete("/messages/{message_id}", status_code=204)
async def delete_message(session: DB, actor: CurrentActor, message_id: str) -> Response:
    await inbox.delete_message(session, actor, message_id)
    return Response(status_code=204)


@router.post("/messages/{message_id}/retry", response_model=schemas.MessageOut)
async def retry_message(session: DB, actor: CurrentActor, message_id: str) -> schemas.MessageOut:
    message = await service.retry_message(session, actor, message_id)
    return (await views.present_messages(session, [message]))[0]


@router.get("/conversations", response_model=schemas.ConversationPage)
async def list_conversations(
    session: DB,
    actor: CurrentActor,
    q: Search = None,
    unread: bool = False,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
) -> schemas.ConversationPage:
    return await views.list_conversations(
        session, actor, q=q, unread_only=unread, cursor=cursor, limit=limit
    )


@router.get("/conversations/{conversation_id}", response_model=schemas.ConversationOut)
async def get_conversation(
    session: DB, actor: CurrentActor, conversation_id: str
) -> schemas.ConversationOut:
    return await views.get_conversation(session, actor, conversation_id)


@router.get("/conversations/{conversation_id}/messages", response_model=schemas.MessagePage)
async def conversation_messages(
    session: DB,
    actor: CurrentActor,
    conversation_id: str,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> schemas.MessagePage:
    return await views.thread(session, actor, conversation_id, cursor=cursor, limit=limit)


@router.post("/conversations/{conversation_id}/read", status_code=204)
async def mark_read(session: DB, actor: CurrentActor, conversation_id: str) -> Response:
    await inbox.mark_read(session, actor, conversation_id)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/block", status_code=204)
async def block(session: DB, actor: CurrentActor, conversation_id: str) -> Response:
    await service.set_blocked(session, actor, conversation_id, True)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/unblock", status_code=204)
async def unblock(session: DB, actor: CurrentActor, conversation_id: str) -> Response:
    await service.set_blocked(session, actor, conversation_id, False)
    return Response(status_code=204)


@router.put("/conversations/{conversation_id}/mute", status_code=204)
async def mute(
    session: DB, actor: CurrentActor, conversation_id: str, data: schemas.MuteSet
) -> Response:
    await inbox.set_muted(session, actor, conversation_id, data.muted)
    return Response(status_code=204)


@router.delete("/conversations/{conversation_id}", status_code=204)
async def hide_conversation(session: DB, actor: CurrentActor, conversation_id: str) -> Response:
    await inbox.hide_conversation(session, actor, conversation_id)
    return Response(status_code=204)


@router.get("/unread", response_model=schemas.Unread)
async def unread(session: DB, actor: CurrentActor) -> schemas.Unread:
    return await views.unread(session, actor)


@router.post("/unread/mark-all-read", response_model=schemas.Unread)
async def mark_all_read(session: DB, actor: CurrentActor) -> schemas.Unread:
    await inbox.mark_all_read(session, actor)
    return schemas.Unread(total=0, conversations=[])


@router.post(
    "/click-to-sms", response_model=schemas.ClickToSmsResult, openapi_extra=IDEMPOTENCY_KEY_DOC
)
async def click_to_sms(
    request: Request, session: DB, actor: CurrentActor, data: schemas.ClickToSms
) -> schemas.ClickToSmsResult:
    """Open (or reuse) the caller's conversation with a remote number, and send the text
    if there is one: the one call a PBX or softphone makes during a call (C10)."""
    idempotency_key = _idempotency_key(request)
    conversation_id, sent = await service.click_to_sms(
        session,
        actor,
        to_e164=data.to,
        body=data.body,
        from_e164=data.from_,
        system_sms=request.app.state.settings.sms_enabled,
        client_key=idempotency_key,
    )
    out = await views.get_conversation(session, actor, conversation_id)
    return schemas.ClickToSmsResult(conversation=out, message=_accepted(sent) if sent else None)


@router.get("/quarantine", response_model=Page[schemas.QuarantineOut])
async def quarantine(
    session: DB, actor: CurrentActor, cursor: Cursor = None, limit: Limit = 50
) -> Page[schemas.QuarantineOut]:
    """Inbound messages that reached nobody (unknown number, blocked sender)."""
    check_admin(actor)
    rows = await repo.list_quarantine(session, actor.tenant_id, check_cursor(cursor), limit)
    items = [schemas.QuarantineOut.model_validate(r) for r in rows[:limit]]
    return Page(items=items, next_cursor=next_cursor(rows, limit))
