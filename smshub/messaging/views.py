"""The read side of messaging: access checks, pages and the shapes clients see."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor
from smshub.contacts import service as contacts_service
from smshub.kit.cache import cache
from smshub.kit.errors import InvalidInput, NotFound
from smshub.kit.outbox import emit
from smshub.kit.pagination import check_cursor
from smshub.messaging import repository as repo
from smshub.messaging import schemas
from smshub.models import Conversation, ConversationState, Message, Number
from smshub.numbers import service as numbers_service


async def access_conversation_by_id(
    session: AsyncSession, actor: Actor, conversation_id: str
) -> Conversation:
    """A conversation on a number the actor reaches; anything else looks absent."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.tenant_id != actor.tenant_id:
        raise NotFound("No such conversation.", field="id")
    if not await _can_see_number(session, actor, conversation.number_id):
        raise NotFound("No such conversation.", field="id")
    return conversation


async def _can_see_number(session: AsyncSession, actor: Actor, number_id: str) -> bool:
    return actor.user_id in await numbers_service.users_of_number(session, number_id)


async def access_message_by_id(session: AsyncSession, actor: Actor, message_id: str) -> Message:
    message = await session.get(Message, message_id)
    if message is None or message.tenant_id != actor.tenant_id or message.deleted_at:
        raise NotFound("No such message.", field="id")
    await access_conversation_by_id(session, actor, message.conversation_id)
    return message


async def present_messages(
    session: AsyncSession, messages: Sequence[Message]
) -> list[schemas.MessageOut]:
    senders = await repo.users_by_id(
        session, list({m.sent_by_user_id for m in messages if m.sent_by_user_id})
    )
    out = []
    for m in messages:
        user = senders.get(m.sent_by_user_id or "")
        out.append(
            schemas.MessageOut(
                id=m.id,
                conversation_id=m.conversation_id,
                direction=m.direction,  # type: ignore[arg-type]
                from_=m.from_e164,
                to=m.to_e164,
                body=m.body,
                status=m.status,
                encoding=m.encoding,
                segments=m.segments,
                error=m.error,
                sent_by=schemas.Sender(id=user.id, extension=user.extension, name=user.name)
                if user
                else None,
                sender_id=m.sender_id,
                created_at=m.created_at,
                sent_at=m.sent_at,
                delivered_at=m.delivered_at,
            )
        )
    return out


async def message_event_data(session: AsyncSession, message: Message) -> dict[str, Any]:
    item = (await present_messages(session, [message]))[0]
    return item.model_dump(mode="json", by_alias=True)


async def present_conversations(
    session: AsyncSession,
    actor: Actor,
    rows: Sequence[tuple[Conversation, ConversationState | None]],
) -> list[schemas.ConversationOut]:
    numbers: dict[str, Number] = {}
    for conv, _ in rows:
        if conv.number_id not in numbers:
            number = await session.get(Number, conv.number_id)
            assert number is not None
            numbers[conv.number_id] = number
    names = await contacts_service.names_for(session, actor, [c.remote_e164 for c, _ in rows])
    sharing = {n: await _sharers(session, n) for n in numbers}
    return [
        schemas.ConversationOut(
            id=c.id,
            number=schemas.NumberRef(
                id=c.number_id, e164=numbers[c.number_id].e164, label=numbers[c.number_id].label
            ),
            remote=c.remote_e164,
            contact_name=names.get(c.remote_e164),
            last_message_at=c.last_message_at,
            preview=c.last_preview,
            last_direction=c.last_direction,
            unread=s.unread if s else 0,
            muted=s.muted if s else False,
            blocked=c.inbound_blocked,
            shared_with=sharing[c.number_id],
        )
        for c, s in rows
    ]


async def _sharers(session: AsyncSession, number_id: str) -> list[schemas.Sender]:
    ids = await numbers_service.users_of_number(session, number_id)
    if len(ids) < 2:
        return []
    users = await repo.users_by_id(session, ids)
    return sorted(
        (schemas.Sender(id=u.id, extension=u.extension, name=u.name) for u in users.values()),
        key=lambda s: s.extension,
    )


def _encode_cursor(at: datetime, cid: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{cid}".encode()).decode()


def _decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        at, cid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), check_cursor(cid) or ""
    except (ValueError, UnicodeDecodeError, InvalidInput):
        raise InvalidInput("cursor must be a value taken from next_cursor.", field="cursor")


async def list_conversations(
    session: AsyncSession,
    actor: Actor,
    *,
    q: str | None,
    unread_only: bool = False,
    cursor: str | None,
    limit: int,
) -> schemas.ConversationPage:
    """The actor's conversations, newest activity first, each with its unread count."""
    rows = await repo.list_conversations(
        session,
        actor.tenant_id,
        actor.user_id,
        numbers_service.visible_number_ids(actor.user_id),
        q=q,
        unread_only=unread_only,
        after=_decode_cursor(cursor),
        limit=limit,
    )
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        nxt = _encode_cursor(last.last_message_at, last.id)
    items = await present_conversations(session, actor, rows[:limit])
    return schemas.ConversationPage(items=items, next_cursor=nxt)


async def get_conversation(
    session: AsyncSession, actor: Actor, conversation_id: str
) -> schemas.ConversationOut:
    conversation = await access_conversation_by_id(session, actor, conversation_id)
    state = await repo.state(session, conversation.id, actor.user_id)
    return (await present_conversations(session, actor, [(conversation, state)]))[0]


async def thread(
    session: AsyncSession, actor: Actor, conversation_id: str, *, cursor: str | None, limit: int
) -> schemas.MessagePage:
    """A page of a conversation's messages, newest first; `cursor` pages back in time."""
    conversation = await access_conversation_by_id(session, actor, conversation_id)
    rows = await repo.thread(session, conversation.id, check_cursor(cursor), limit)
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return schemas.MessagePage(items=await present_messages(session, rows[:limit]), next_cursor=nxt)


async def list_messages(
    session: AsyncSession,
    actor: Actor,
    filters: dict[str, Any],
    *,
    cursor: str | None,
    limit: int,
) -> schemas.MessagePage:
    if filters.get("contact"):
        contact = await contacts_service.access_contact_by_id(session, actor, filters["contact"])
        filters["remotes"] = [
            n.e164 for n in (await contacts_service.present(session, [contact]))[0].numbers
        ]
    rows = await repo.messages(
        session,
        actor.tenant_id,
        numbers_service.visible_number_ids(actor.user_id),
        filters,
        check_cursor(cursor),
        limit,
    )
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return schemas.MessagePage(items=await present_messages(session, rows[:limit]), next_cursor=nxt)


async def unread(session: AsyncSession, actor: Actor) -> schemas.Unread:
    return await unread_for(session, actor.user_id)


async def unread_for(session: AsyncSession, user_id: str) -> schemas.Unread:
    rows = await repo.unread_by_conversation(
        session, user_id, numbers_service.visible_number_ids(user_id)
    )
    return schemas.Unread(
        total=sum(n for _, n in rows),
        conversations=[schemas.UnreadItem(id=c, unread=n) for c, n in rows],
    )


async def announce_unread(
    session: AsyncSession, tenant_id: str, user_ids: Sequence[str], conversation_id: str | None
) -> None:
    """Send each user their new unread counts, to every open client (C5, C6): one query
    for all of them, since an inbound message on a shared number reaches many users."""
    counts = await repo.unread_counts(session, user_ids, conversation_id)
    for user_id in user_ids:
        emit(
            session,
            "unread.changed",
            tenant_id,
            [user_id],
            {
                "total": counts.get(user_id, (0, 0))[0],
                "conversation_id": conversation_id,
                "unread": counts.get(user_id, (0, 0))[1] if conversation_id else None,
            },
        )


async def announce_unread_many(
    session: AsyncSession,
    tenant_id: str,
    pairs: Sequence[tuple[str, str]],
    here: Mapping[tuple[str, str], int],
) -> None:
    """`announce_unread` for many (conversation, user) pairs at once, given their new
    counts (`repository.add_unread`): one query, for the users' totals."""
    totals = await repo.unread_totals(session, list(dict.fromkeys(u for _, u in pairs)))
    for conversation_id, user_id in dict.fromkeys(pairs):
        emit(
            session,
            "unread.changed",
            tenant_id,
            [user_id],
            {
                "total": totals.get(user_id, 0),
                "conversation_id": conversation_id,
                "unread": here.get((conversation_id, user_id), 0),
            },
        )


async def sender(session: AsyncSession, user_id: str | None) -> schemas.Sender | None:
    if not user_id:
        return None

    async def load() -> schemas.Sender | None:
        user = (await repo.users_by_id(session, [user_id])).get(user_id)
        return (
            schemas.Sender(id=user.id, extension=user.extension, name=user.name) if user else None
        )

    return await cache.get(("sender", user_id), load)


async def row_event_data(session: AsyncSession, row: dict[str, Any]) -> dict[str, Any]:
    """The `message.created` payload of a message written with Core statements."""
    out = schemas.MessageOut(
        id=row["id"],
        conversation_id=row["conversation_id"],
        direction=row["direction"],
        from_=row["from_e164"],
        to=row["to_e164"],
        body=row["body"],
        status=row["status"],
        encoding=row["encoding"],
        segments=row["segments"],
        error=row["error"],
        sent_by=await sender(session, row["sent_by_user_id"]),
        sender_id=row.get("sender_id"),
        created_at=row["created_at"],
        sent_at=None,
        delivered_at=None,
    )
    return out.model_dump(mode="json", by_alias=True)
