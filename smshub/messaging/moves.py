"""State changes of messages, applied in bulk (C3).

A send batch moves every message to `sending` and then to `sent`, and a batch of
receipts moves many to `delivered`: one bulk UPDATE and one history INSERT per call
(kit.bulk), rather than a unit-of-work flush per message. The loaded ORM objects get the
new values as their committed state, so they read the same and are not written twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from smshub.forwarding import hooks as forwarding_hooks
from smshub.kit.bulk import update_rows
from smshub.kit.outbox import emit
from smshub.messaging import repository as repo
from smshub.messaging.status import can_move
from smshub.models import Message
from smshub.numbers import service as numbers_service

_MESSAGES = cast(Table, Message.__table__)


@dataclass(frozen=True)
class Move:
    message: Message
    status: str
    detail: str | None = None
    # `sent` records which connector took the message and the carrier's reference.
    connector_id: str | None = None
    carrier_ref: str | None = None
    # When it happened, if not at the call's `now` (a submit's start, for `sending`).
    at: datetime | None = None


async def move_many(session: AsyncSession, moves: Sequence[Move], now: datetime) -> list[bool]:
    """Apply each change the state machine allows, in order (one message may move twice):
    stored with its time and published as `message.status`. Returns which applied."""
    applied: list[bool] = []
    changed: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    for move in moves:
        message = move.message
        ok = can_move(message.status, move.status)
        applied.append(ok)
        if not ok:
            continue
        at = move.at or now
        values = changed.setdefault(message.id, {})
        values["status"] = move.status
        if move.status == "sent":
            values["sent_at"] = at
        elif move.status == "delivered":
            values["delivered_at"] = at
        elif move.status == "failed":
            values["failed_at"], values["error"] = at, move.detail
        if move.connector_id is not None:
            values["connector_id"], values["carrier_ref"] = move.connector_id, move.carrier_ref
        for column, value in values.items():
            set_committed_value(message, column, value)
        events.append(
            {"message_id": message.id, "status": move.status, "detail": move.detail, "at": at}
        )
        await _publish(session, message, move.status, at)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for mid, values in changed.items():
        groups.setdefault(tuple(sorted(values)), []).append({"id": mid, **values})
    for rows in groups.values():
        await update_rows(session, _MESSAGES, "id", rows)
    if events:
        await repo.insert_message_events(session, events)
    return applied


async def _publish(session: AsyncSession, message: Message, status: str, now: datetime) -> None:
    ours = message.from_e164 if message.direction == "out" else message.to_e164
    number = await numbers_service.number_info(session, ours)
    users = await numbers_service.users_of_number(session, number.id) if number else []
    data = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "status": status,
        "error": message.error,
        "at": now.isoformat(),
    }
    emit(session, "message.status", message.tenant_id, users, data)
    await forwarding_hooks.on_message_status(session, message.tenant_id, data, now)
