"""A user's own inbox state: read, mark all read, delete for me, mute (C5, C7)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.outbox import emit
from smshub.messaging import repository as repo
from smshub.messaging import views
from smshub.numbers import service as numbers_service


async def mark_read(
    session: AsyncSession, actor: Actor, conversation_id: str, clock: Clock | None = None
) -> None:
    """Clear the unread count on every device of this user (the event syncs them)."""
    conversation = await views.access_conversation_by_id(session, actor, conversation_id)
    now = (clock or SystemClock()).now()
    await repo.set_state(session, conversation.id, actor.user_id, unread=0, last_read_at=now)
    await views.announce_unread(session, actor.tenant_id, [actor.user_id], conversation.id)


async def mark_all_read(session: AsyncSession, actor: Actor) -> None:
    summary = await views.unread(session, actor)
    await repo.clear_unread(session, actor.user_id, [c.id for c in summary.conversations])
    await views.announce_unread(session, actor.tenant_id, [actor.user_id], None)


async def hide_conversation(session: AsyncSession, actor: Actor, conversation_id: str) -> None:
    """Delete a conversation for this user only; a new inbound message brings it back."""
    conversation = await views.access_conversation_by_id(session, actor, conversation_id)
    await repo.set_state(session, conversation.id, actor.user_id, hidden=True, unread=0)
    await views.announce_unread(session, actor.tenant_id, [actor.user_id], conversation.id)


async def set_muted(session: AsyncSession, actor: Actor, conversation_id: str, muted: bool) -> None:
    conversation = await views.access_conversation_by_id(session, actor, conversation_id)
    await repo.set_state(session, conversation.id, actor.user_id, muted=muted)


async def delete_message(
    session: AsyncSession, actor: Actor, message_id: str, clock: Clock | None = None
) -> None:
    """Remove a message from its thread for everyone who shares the number."""
    message = await views.access_message_by_id(session, actor, message_id)
    await repo.soft_delete_message(session, message, (clock or SystemClock()).now())
    conversation = await views.access_conversation_by_id(session, actor, message.conversation_id)
    users = await numbers_service.users_of_number(session, conversation.number_id)
    emit(
        session,
        "message.deleted",
        actor.tenant_id,
        users,
        {"id": message.id, "conversation_id": message.conversation_id},
    )
