"""Queries for SMS numbers and assignments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.models import CallGroup, GroupMember, Number, NumberAssignment, User


async def live_number(session: AsyncSession, tenant_id: str, number_id: str) -> Number | None:
    stmt = select(Number).where(
        Number.id == number_id, Number.tenant_id == tenant_id, Number.deleted_at.is_(None)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def live_by_e164(session: AsyncSession, e164: str) -> Number | None:
    stmt = select(Number).where(Number.e164 == e164, Number.deleted_at.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


def _visible_ids(user_id: str):  # type: ignore[no-untyped-def]
    """Ids of numbers a user reaches by assignment or by call-group membership."""
    assigned = select(NumberAssignment.number_id).where(NumberAssignment.user_id == user_id)
    grouped = (
        select(CallGroup.number_id)
        .join(GroupMember, GroupMember.group_id == CallGroup.id)
        .where(GroupMember.user_id == user_id, CallGroup.number_id.is_not(None))
    )
    return assigned.union(grouped)


async def list_numbers(
    session: AsyncSession,
    tenant_id: str,
    *,
    visible_to: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> Sequence[Number]:
    stmt = select(Number).where(Number.tenant_id == tenant_id, Number.deleted_at.is_(None))
    if visible_to is not None:
        stmt = stmt.where(Number.id.in_(_visible_ids(visible_to)))
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(Number.e164.like(like), func.lower(Number.label).like(like)))
    if cursor:
        stmt = stmt.where(Number.id > cursor)
    return (await session.execute(stmt.order_by(Number.id).limit(limit + 1))).scalars().all()


async def assignees(session: AsyncSession, number_ids: Sequence[str]) -> dict[str, list[User]]:
    out: dict[str, list[User]] = {i: [] for i in number_ids}
    if not number_ids:
        return out
    stmt = (
        select(NumberAssignment.number_id, User)
        .join(User, User.id == NumberAssignment.user_id)
        .where(NumberAssignment.number_id.in_(number_ids), User.deleted_at.is_(None))
        .order_by(User.extension)
    )
    for number_id, user in (await session.execute(stmt)).all():
        out[number_id].append(user)
    return out


async def groups_of(session: AsyncSession, number_ids: Sequence[str]) -> dict[str, str]:
    if not number_ids:
        return {}
    stmt = select(CallGroup.number_id, CallGroup.id).where(CallGroup.number_id.in_(number_ids))
    return {n: g for n, g in (await session.execute(stmt)).all() if n}


async def other_numbers_of(
    session: AsyncSession, user_ids: Sequence[str], number_id: str
) -> dict[str, str]:
    """Per user, one live number other than `number_id` assigned to them (the E.164)."""
    stmt = (
        select(NumberAssignment.user_id, Number.e164)
        .join(Number, Number.id == NumberAssignment.number_id)
        .where(
            NumberAssignment.user_id.in_(user_ids),
            NumberAssignment.number_id != number_id,
            Number.deleted_at.is_(None),
        )
    )
    return {u: e for u, e in (await session.execute(stmt)).all()}


async def replace_assignees(session: AsyncSession, number_id: str, user_ids: Sequence[str]) -> None:
    await session.execute(delete(NumberAssignment).where(NumberAssignment.number_id == number_id))
    session.add_all(NumberAssignment(number_id=number_id, user_id=u) for u in user_ids)
    await session.flush()


async def live_users(session: AsyncSession, tenant_id: str, user_ids: Sequence[str]) -> list[User]:
    if not user_ids:
        return []
    stmt = select(User).where(
        User.tenant_id == tenant_id, User.id.in_(user_ids), User.deleted_at.is_(None)
    )
    return list((await session.execute(stmt)).scalars().all())


async def detach_number(session: AsyncSession, number_id: str) -> None:
    """A removed number stops routing: no assignees, no group."""
    await session.execute(delete(NumberAssignment).where(NumberAssignment.number_id == number_id))
    groups = (
        await session.execute(select(CallGroup).where(CallGroup.number_id == number_id))
    ).scalars()
    for group in groups:
        group.number_id = None
    await session.flush()


async def can_use(session: AsyncSession, user_id: str, number_id: str) -> bool:
    visible = _visible_ids(user_id).subquery()
    stmt = select(visible.c[0]).where(visible.c[0] == number_id).limit(1)
    return (await session.execute(stmt)).first() is not None


async def usable_numbers(
    session: AsyncSession, tenant_id: str, user_id: str
) -> list[tuple[Number, Literal["assignment", "group"]]]:
    live = (Number.tenant_id == tenant_id) & Number.deleted_at.is_(None)
    assigned = (
        select(Number)
        .join(NumberAssignment, NumberAssignment.number_id == Number.id)
        .where(live, NumberAssignment.user_id == user_id)
        .order_by(Number.e164)
    )
    grouped = (
        select(Number)
        .join(CallGroup, CallGroup.number_id == Number.id)
        .join(GroupMember, GroupMember.group_id == CallGroup.id)
        .where(live, GroupMember.user_id == user_id)
        .order_by(Number.e164)
    )
    out: list[tuple[Number, Literal["assignment", "group"]]] = [
        (n, "assignment") for n in (await session.execute(assigned)).scalars()
    ]
    seen = {n.id for n, _ in out}
    out += [(n, "group") for n in (await session.execute(grouped)).scalars() if n.id not in seen]
    return out


async def users_of_number(session: AsyncSession, number_id: str) -> list[str]:
    assigned = select(NumberAssignment.user_id).where(NumberAssignment.number_id == number_id)
    grouped = (
        select(GroupMember.user_id)
        .join(CallGroup, CallGroup.id == GroupMember.group_id)
        .where(CallGroup.number_id == number_id)
    )
    ids = assigned.union(grouped).subquery()
    stmt = select(User.id).where(User.id.in_(select(ids.c[0])), User.deleted_at.is_(None))
    return list((await session.execute(stmt)).scalars().all())


def visible_number_ids(user_id: str):  # type: ignore[no-untyped-def]
    """A subquery of the number ids a user sees (for other domains' scoping)."""
    return _visible_ids(user_id)


async def live_numbers_of_tenant(session: AsyncSession, tenant_id: str) -> list[Number]:
    stmt = (
        select(Number)
        .where(Number.tenant_id == tenant_id, Number.deleted_at.is_(None))
        .order_by(Number.e164)
    )
    return list((await session.execute(stmt)).scalars())
