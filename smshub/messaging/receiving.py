"""Inbound messages in bulk: the group-commit path of `service.receive_message`.

A batch is written with a handful of bulk statements whatever its size. Only plain
messages take that path. A keyword (STOP, HELP ...), an unknown number or a bad sender,
or a carrier reference (which needs the duplicate check) goes through
`receive_message` one at a time. The batch keeps its order: the plain messages before
such a message are written first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.compliance import service as compliance
from smshub.forwarding import hooks as forwarding_hooks
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.ids import new_id
from smshub.kit.outbox import emit
from smshub.messaging import encoding, views
from smshub.messaging import repository as repo
from smshub.messaging.service import Received, bad_sender, receive_message
from smshub.models import Message
from smshub.numbers import service as numbers_service
from smshub.numbers.schemas import NumberInfo


@dataclass(frozen=True)
class Inbound:
    """One message from a phone, as a carrier (or the simulator) hands it over."""

    from_e164: str
    to_e164: str
    body: str
    connector_id: str | None = None
    carrier_ref: str | None = None
    tenant_scope: str | None = None  # the simulator injects into one tenant only


Plain = tuple[int, Inbound, NumberInfo]


async def receive_many(
    session: AsyncSession, items: Sequence[Inbound], clock: Clock | None = None
) -> list[Received]:
    """Store and route each message, as `receive_message` does for one."""
    now = (clock or SystemClock()).now()
    out: list[Received | None] = [None] * len(items)
    run: list[Plain] = []
    for index, item in enumerate(items):
        number = await _plain_number(session, item)
        if number is not None:
            run.append((index, item, number))
            continue
        await _write_plain(session, run, out, now)
        run = []
        out[index] = await receive_message(
            session,
            from_e164=item.from_e164,
            to_e164=item.to_e164,
            body=item.body,
            connector_id=item.connector_id,
            carrier_ref=item.carrier_ref,
            tenant_scope=item.tenant_scope,
            clock=clock,
        )
    await _write_plain(session, run, out, now)
    return [r for r in out if r is not None]


async def _plain_number(session: AsyncSession, item: Inbound) -> NumberInfo | None:
    """The number a plain message goes to; None sends it down the one-by-one path."""
    if item.carrier_ref or bad_sender(item.from_e164):
        return None
    number = await numbers_service.number_info(session, item.to_e164)
    if number is None or (item.tenant_scope and number.tenant_id != item.tenant_scope):
        return None
    if await compliance.keyword_action(session, number.tenant_id, item.body) is not None:
        return None
    return number


async def _write_plain(
    session: AsyncSession, run: list[Plain], out: list[Received | None], now: datetime
) -> None:
    if not run:
        return
    conversations = await repo.conversation_rows_for_many(
        session, [(n.tenant_id, n.id, i.from_e164, now) for _, i, n in run]
    )
    rows: list[tuple[int, NumberInfo, dict[str, Any]]] = []
    for index, item, number in run:
        conversation_id, blocked = conversations[(number.id, item.from_e164)]
        if blocked:
            qid = await repo.quarantine(
                session,
                tenant_id=number.tenant_id,
                from_e164=item.from_e164,
                to_e164=item.to_e164,
                body=item.body,
                reason="blocked",
                connector_id=item.connector_id,
                received_at=now,
            )
            out[index] = Received(None, qid)
            continue
        rows.append((index, number, _row(item, number, conversation_id, now)))
    if not rows:
        return
    plain = [r for _, _, r in rows]
    await repo.insert_messages(session, plain)
    await repo.insert_message_events(
        session, [{"message_id": r["id"], "status": "received", "at": now} for r in plain]
    )
    await repo.touch_conversations(session, plain)
    unread: Counter[tuple[str, str]] = Counter()
    by_tenant: dict[str, list[tuple[str, str]]] = {}
    for index, number, row in rows:
        users = await numbers_service.users_of_number(session, number.id)
        for user_id in users:
            unread[(row["conversation_id"], user_id)] += 1
            by_tenant.setdefault(number.tenant_id, []).append((row["conversation_id"], user_id))
        # Forwards and webhooks commit with the message (F1-F5).
        await forwarding_hooks.on_message_received(session, number.id, Message(**row))
        emit(
            session,
            "message.created",
            number.tenant_id,
            users,
            await views.row_event_data(session, row),
        )
        out[index] = Received(row["id"], None)
    counts = await repo.add_unread(session, unread)
    for tenant_id, pairs in by_tenant.items():
        await views.announce_unread_many(session, tenant_id, pairs, counts)


def _row(item: Inbound, number: NumberInfo, conversation_id: str, now: datetime) -> dict[str, Any]:
    info = encoding.analyze(item.body)
    return {
        "id": new_id(),
        "tenant_id": number.tenant_id,
        "conversation_id": conversation_id,
        "direction": "in",
        "from_e164": item.from_e164,
        "to_e164": number.e164,
        "body": item.body,
        "status": "received",
        "encoding": info.encoding,
        "segments": max(info.segments, 1),
        "error": None,
        "sent_by_user_id": None,
        "connector_id": item.connector_id,
        "carrier_ref": None,
        "client_key": None,
        "created_at": now,
    }
