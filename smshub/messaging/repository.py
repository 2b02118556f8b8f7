"""Queries for conversations, per-user conversation state and messages."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.kit.bulk import insert_rows, pg_rows, pipeline, update_rows
from smshub.kit.ids import new_id
from smshub.models import (
    ContactNumber,
    Conversation,
    ConversationState,
    Message,
    MessageEvent,
    Number,
    QuarantinedMessage,
    UnreadTotal,
    User,
)


def _insert(session: AsyncSession):  # type: ignore[no-untyped-def]
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


# Bulk writes are Core statements on the tables, built once: the ORM's bulk path cost
# more than the statements themselves, and these rows never enter the identity map.
_MESSAGES = cast(Table, Message.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_EVENTS = cast(Table, MessageEvent.__table__)
_STATES = cast(Table, ConversationState.__table__)
_UPSERTS: dict[tuple[str, str], Any] = {}


def _upsert(session: AsyncSession, name: str, build: Any) -> Any:
    """A dialect's ON CONFLICT statement, built once per process."""
    dialect = session.get_bind().dialect.name
    stmt = _UPSERTS.get((dialect, name))
    if stmt is None:
        stmt = _UPSERTS[(dialect, name)] = build(_insert(session))
    return stmt


async def conversation_for(
    session: AsyncSession, tenant_id: str, number_id: str, remote: str, now: datetime
) -> Conversation:
    """Find or create the one conversation of (our number, their number), race-free."""
    stmt = select(Conversation).where(
        Conversation.number_id == number_id, Conversation.remote_e164 == remote
    )
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is not None:
        return found
    values = {
        "id": new_id(),
        "tenant_id": tenant_id,
        "number_id": number_id,
        "remote_e164": remote,
        "last_message_at": now,
        "created_at": now,
        "last_preview": "",
        "last_direction": "out",
        "inbound_blocked": False,
    }
    ins = _insert(session)(Conversation).values(values)
    await session.execute(ins.on_conflict_do_nothing(index_elements=["number_id", "remote_e164"]))
    return (await session.execute(stmt)).scalar_one()


async def bump_unread(session: AsyncSession, conversation_id: str, user_ids: Sequence[str]) -> None:
    """One more unread message for each user; a conversation they deleted comes back."""
    await add_unread(session, {(conversation_id, u): 1 for u in user_ids})


async def add_unread(
    session: AsyncSession, counts: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    """Add `n` unread messages per (conversation, user); returns the new counts. One
    executemany (its compiled form is cached, where a multi-row VALUES is compiled anew
    for each size), its RETURNING rows gathered by SQLAlchemy's insertmanyvalues."""
    if not counts:
        return {}

    def build(dialect_insert: Any) -> Any:
        ins = dialect_insert(ConversationState.__table__)
        return ins.on_conflict_do_update(
            index_elements=["conversation_id", "user_id"],
            set_={"unread": ins.table.c.unread + ins.excluded.unread, "hidden": False},
        ).returning(ins.table.c.conversation_id, ins.table.c.user_id, ins.table.c.unread)

    result = await session.execute(
        _upsert(session, "add_unread", build),
        [
            {"conversation_id": c, "user_id": u, "unread": n, "hidden": False, "muted": False}
            for (c, u), n in counts.items()
        ],
    )
    return {(c, u): n for c, u, n in result.all()}


async def set_state(
    session: AsyncSession, conversation_id: str, user_id: str, **values: Any
) -> None:
    base = {
        "conversation_id": conversation_id,
        "user_id": user_id,
        "unread": 0,
        "hidden": False,
        "muted": False,
    }
    ins = _insert(session)(ConversationState).values({**base, **values})
    await session.execute(
        ins.on_conflict_do_update(index_elements=["conversation_id", "user_id"], set_=values)
    )


async def state(
    session: AsyncSession, conversation_id: str, user_id: str
) -> ConversationState | None:
    return await session.get(ConversationState, (conversation_id, user_id))


def _visible_conversations(
    user_id: str, visible_numbers: Any
) -> Select[Conversation, ConversationState]:
    return (
        select(Conversation, ConversationState)
        .outerjoin(
            ConversationState,
            and_(
                ConversationState.conversation_id == Conversation.id,
                ConversationState.user_id == user_id,
            ),
        )
        .where(Conversation.number_id.in_(visible_numbers))
    )


async def list_conversations(
    session: AsyncSession,
    tenant_id: str,
    user_id: str,
    visible_numbers: Any,
    *,
    q: str | None,
    unread_only: bool,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[tuple[Conversation, ConversationState | None]]:
    stmt = _visible_conversations(user_id, visible_numbers).where(
        Conversation.tenant_id == tenant_id,
        func.coalesce(ConversationState.hidden, False).is_(False),
    )
    if unread_only:
        stmt = stmt.where(ConversationState.unread > 0)
    if q:
        like = f"%{q.lower()}%"
        named = select(ContactNumber.e164).where(
            ContactNumber.tenant_id == tenant_id,
            ContactNumber.contact_id.in_(_contact_ids_named(like)),
        )
        stmt = stmt.where(
            or_(
                Conversation.remote_e164.like(like),
                func.lower(Conversation.last_preview).like(like),
                Conversation.remote_e164.in_(named),
            )
        )
    if after is not None:
        at, cid = after
        stmt = stmt.where(
            or_(
                Conversation.last_message_at < at,
                and_(Conversation.last_message_at == at, Conversation.id < cid),
            )
        )
    stmt = stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    rows = (await session.execute(stmt.limit(limit + 1))).all()
    return [(r[0], r[1]) for r in rows]


def _contact_ids_named(like: str) -> Any:
    from smshub.models import Contact

    return select(Contact.id).where(func.lower(Contact.name).like(like))


async def unread_by_conversation(
    session: AsyncSession, user_id: str, visible_numbers: Any
) -> list[tuple[str, int]]:
    stmt = (
        select(ConversationState.conversation_id, ConversationState.unread)
        .join(Conversation, Conversation.id == ConversationState.conversation_id)
        .where(
            ConversationState.user_id == user_id,
            ConversationState.unread > 0,
            ConversationState.hidden == false(),
            Conversation.number_id.in_(visible_numbers),
        )
        .order_by(Conversation.last_message_at.desc())
    )
    return [(c, n) for c, n in (await session.execute(stmt)).all()]


async def clear_unread(
    session: AsyncSession, user_id: str, conversation_ids: Sequence[str]
) -> None:
    if conversation_ids:
        await session.execute(
            update(ConversationState)
            .where(
                ConversationState.user_id == user_id,
                ConversationState.conversation_id.in_(conversation_ids),
            )
            .values(unread=0)
        )


async def thread(
    session: AsyncSession, conversation_id: str, before: str | None, limit: int
) -> Sequence[Message]:
    """Newest first, so a client loads the latest page and scrolls back."""
    stmt = select(Message).where(
        Message.conversation_id == conversation_id, Message.deleted_at.is_(None)
    )
    if before:
        stmt = stmt.where(Message.id < before)
    stmt = stmt.order_by(Message.id.desc()).limit(limit + 1)
    return (await session.execute(stmt)).scalars().all()


async def messages(
    session: AsyncSession,
    tenant_id: str,
    visible_numbers: Any,
    filters: dict[str, Any],
    before: str | None,
    limit: int,
) -> Sequence[Message]:
    conv = select(Conversation.id).where(
        Conversation.tenant_id == tenant_id, Conversation.number_id.in_(visible_numbers)
    )
    if filters.get("number"):
        conv = conv.join(Number, Number.id == Conversation.number_id).where(
            Number.e164 == filters["number"]
        )
    if filters.get("remotes") is not None:
        conv = conv.where(Conversation.remote_e164.in_(filters["remotes"]))
    stmt = select(Message).where(
        Message.tenant_id == tenant_id,
        Message.conversation_id.in_(conv),
        Message.deleted_at.is_(None),
    )
    if filters.get("direction"):
        stmt = stmt.where(Message.direction == filters["direction"])
    if filters.get("since"):
        stmt = stmt.where(Message.created_at >= filters["since"])
    if filters.get("until"):
        stmt = stmt.where(Message.created_at < filters["until"])
    if filters.get("q"):
        stmt = stmt.where(func.lower(Message.body).like(f"%{filters['q'].lower()}%"))
    if before:
        stmt = stmt.where(Message.id < before)
    return (
        (await session.execute(stmt.order_by(Message.id.desc()).limit(limit + 1))).scalars().all()
    )


async def message_by_ref(
    session: AsyncSession, connector_id: str, carrier_ref: str, direction: str
) -> Message | None:
    stmt = select(Message).where(
        Message.connector_id == connector_id,
        Message.carrier_ref == carrier_ref,
        Message.direction == direction,
    )
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


async def message_by_client_key(session: AsyncSession, tenant_id: str, key: str) -> Message | None:
    stmt = select(Message).where(Message.tenant_id == tenant_id, Message.client_key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def users_by_id(session: AsyncSession, ids: Sequence[str]) -> dict[str, User]:
    if not ids:
        return {}
    rows = (await session.execute(select(User).where(User.id.in_(ids)))).scalars()
    return {u.id: u for u in rows}


async def quarantine(session: AsyncSession, **values: Any) -> str:
    row = QuarantinedMessage(id=new_id(), **values)
    session.add(row)
    await session.flush()
    return row.id


async def list_quarantine(
    session: AsyncSession, tenant_id: str, before: str | None, limit: int
) -> Sequence[QuarantinedMessage]:
    stmt = select(QuarantinedMessage).where(QuarantinedMessage.tenant_id == tenant_id)
    if before:
        stmt = stmt.where(QuarantinedMessage.id < before)
    stmt = stmt.order_by(QuarantinedMessage.id.desc()).limit(limit + 1)
    return (await session.execute(stmt)).scalars().all()


async def soft_delete_message(session: AsyncSession, message: Message, now: datetime) -> None:
    message.deleted_at = now
    await session.flush()


async def conversations_for_many(
    session: AsyncSession, wanted: Sequence[tuple[str, str, str, datetime]]
) -> dict[tuple[str, str], str]:
    """Conversation ids for (tenant, number, remote, now) tuples, creating the missing
    ones: two statements for any number of messages."""
    rows = await conversation_rows_for_many(session, wanted)
    return {k: cid for k, (cid, _) in rows.items()}


async def conversation_rows_for_many(
    session: AsyncSession, wanted: Sequence[tuple[str, str, str, datetime]]
) -> dict[tuple[str, str], tuple[str, bool]]:
    """(id, inbound_blocked) per (number, remote), creating the missing conversations."""
    keys = {(n, r): (t, at) for t, n, r, at in wanted}
    found = await _conversation_rows(session, keys)
    missing = [k for k in keys if k not in found]
    if not missing:  # the usual case: one statement
        return found
    async with pipeline(session):  # the insert and the reading back: one round trip
        await insert_rows(
            session,
            _CONVERSATIONS,
            [
                {
                    "id": new_id(),
                    "tenant_id": keys[k][0],
                    "number_id": k[0],
                    "remote_e164": k[1],
                    "last_message_at": keys[k][1],
                    "created_at": keys[k][1],
                    "last_preview": "",
                    "last_direction": "out",
                    "inbound_blocked": False,
                }
                for k in missing
            ],
            on_conflict="ON CONFLICT (number_id, remote_e164) DO NOTHING",
        )
        created = await _conversation_rows(session, set(missing))
    return found | created


# One probe of the unique (number, remote) index per pair, whatever PostgreSQL's
# statistics say: a lateral join with LIMIT 1 cannot be turned into a scan. With two INs
# (or an OR of pairs), PostgreSQL, its statistics behind a growing table, probed by number
# alone and filtered that number's every conversation.
_PG_CONVERSATION_ROWS = (
    "SELECT k.n, k.r, c.id, c.inbound_blocked"
    " FROM unnest(CAST(%s AS VARCHAR[]), CAST(%s AS VARCHAR[])) AS k(n, r)"
    " CROSS JOIN LATERAL (SELECT id, inbound_blocked FROM conversations"
    " WHERE number_id = k.n AND remote_e164 = k.r LIMIT 1) AS c"
)


async def _conversation_rows(
    session: AsyncSession, keys: Collection[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, bool]]:
    if session.get_bind().dialect.name == "postgresql":
        pairs = list(keys)
        columns = ([n for n, _ in pairs], [r for _, r in pairs])
        found = await pg_rows(session, _PG_CONVERSATION_ROWS, columns)
        return {(n, r): (c, b) for n, r, c, b in found}
    params = {"numbers": list({n for n, _ in keys}), "remotes": list({r for _, r in keys})}
    rows = (await session.execute(_SQLITE_CONVERSATION_ROWS, params)).all()
    return {(n, r): (c, b) for n, r, c, b in rows if (n, r) in keys}


_SQLITE_CONVERSATION_ROWS = select(
    Conversation.number_id,
    Conversation.remote_e164,
    Conversation.id,
    Conversation.inbound_blocked,
).where(
    # Two INs on the unique (number, remote) index: SQLite scans the whole table for a
    # row-value IN. The cross product they allow is filtered out by the caller.
    Conversation.number_id.in_(bindparam("numbers", expanding=True)),
    Conversation.remote_e164.in_(bindparam("remotes", expanding=True)),
)


async def insert_messages(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await insert_rows(session, _MESSAGES, rows)


async def insert_message_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await insert_rows(
        session,
        _EVENTS,
        [
            {
                "id": new_id(),
                "message_id": r["message_id"],
                "status": r["status"],
                "detail": r.get("detail"),
                "at": r["at"],
            }
            for r in rows
        ],
    )


async def touch_conversations(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Move each conversation's latest activity to its newest message."""
    latest: dict[str, dict[str, Any]] = {}
    for r in rows:
        latest[r["conversation_id"]] = r
    await update_rows(
        session,
        _CONVERSATIONS,
        "id",
        [
            {
                "id": cid,
                "last_message_at": r["created_at"],
                "last_preview": r["body"][:100],
                "last_direction": r["direction"],
            }
            for cid, r in latest.items()
        ],
    )


async def unhide_for(session: AsyncSession, pairs: set[tuple[str, str]]) -> None:
    """The sender sees the conversation again, even if they had deleted it."""
    if not pairs:
        return
    await insert_rows(
        session,
        _STATES,
        [
            {"conversation_id": c, "user_id": u, "unread": 0, "hidden": False, "muted": False}
            for c, u in pairs
        ],
        on_conflict="ON CONFLICT (conversation_id, user_id) DO UPDATE SET hidden = excluded.hidden",
    )


async def messages_by_refs(
    session: AsyncSession, connector_id: str, refs: Sequence[str]
) -> dict[str, Message]:
    if not refs:
        return {}
    params = {"connector": connector_id, "refs": list(refs)}
    rows = (await session.execute(_BY_REFS, params)).scalars()
    return {m.carrier_ref or "": m for m in rows}


# The per-batch lookups, built once: a statement built per call left its bind parameters
# as cyclic garbage, and the collector's pauses showed in the API's latency.
_BY_REFS = select(Message).where(
    Message.connector_id == bindparam("connector"),
    Message.carrier_ref.in_(bindparam("refs", expanding=True)),
    Message.direction == "out",
)
_BY_IDS = (
    select(Message).where(Message.id.in_(bindparam("ids", expanding=True))).order_by(Message.id)
)


async def messages_by_ids(session: AsyncSession, ids: Sequence[str]) -> list[Message]:
    return list((await session.execute(_BY_IDS, {"ids": list(ids)})).scalars())


async def unread_counts(
    session: AsyncSession, user_ids: Sequence[str], conversation_id: str | None
) -> dict[str, tuple[int, int]]:
    """Per user: (total unread, unread in `conversation_id`)."""
    if not user_ids:
        return {}
    totals = await unread_totals(session, user_ids)
    here: dict[str, int] = {}
    if conversation_id is not None:
        stmt = select(ConversationState.user_id, ConversationState.unread).where(
            ConversationState.conversation_id == conversation_id,
            ConversationState.user_id.in_(user_ids),
        )
        here = {u: int(n) for u, n in (await session.execute(stmt)).all()}
    return {u: (totals.get(u, 0), here.get(u, 0)) for u in user_ids}


async def unread_totals(session: AsyncSession, user_ids: Sequence[str]) -> dict[str, int]:
    """Each user's unread messages over all their visible conversations (kept by the
    triggers of migration 0007)."""
    if not user_ids:
        return {}
    stmt = select(UnreadTotal.user_id, UnreadTotal.total).where(UnreadTotal.user_id.in_(user_ids))
    return {u: int(t) for u, t in (await session.execute(stmt)).all()}
