"""Queries for call groups and their members."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.models import CallGroup, GroupMember, Number, User


async def group(session: AsyncSession, tenant_id: str, group_id: str) -> CallGroup | None:
    stmt = select(CallGroup).where(CallGroup.id == group_id, CallGroup.tenant_id == tenant_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_groups(
    session: AsyncSession,
    tenant_id: str,
    *,
    member: str | None,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> Sequence[CallGroup]:
    stmt = select(CallGroup).where(CallGroup.tenant_id == tenant_id)
    if member is not None:
        mine = select(GroupMember.group_id).where(GroupMember.user_id == member)
        stmt = stmt.where(CallGroup.id.in_(mine))
    if q:
        stmt = stmt.where(func.lower(CallGroup.name).like(f"%{q.lower()}%"))
    if cursor:
        stmt = stmt.where(CallGroup.id > cursor)
    return (await session.execute(stmt.order_by(CallGroup.id).limit(limit + 1))).scalars().all()


async def members(session: AsyncSession, group_ids: Sequence[str]) -> dict[str, list[User]]:
    out: dict[str, list[User]] = {g: [] for g in group_ids}
    if not group_ids:
        return out
    stmt = (
        select(GroupMember.group_id, User)
        .join(User, User.id == GroupMember.user_id)
        .where(GroupMember.group_id.in_(group_ids), User.deleted_at.is_(None))
        .order_by(User.extension)
    )
    for gid, user in (await session.execute(stmt)).all():
        out[gid].append(user)
    return out


async def number_e164s(session: AsyncSession, number_ids: Sequence[str]) -> dict[str, str]:
    if not number_ids:
        return {}
    stmt = select(Number.id, Number.e164).where(Number.id.in_(number_ids))
    return {i: e for i, e in (await session.execute(stmt)).all()}


async def group_using_number(session: AsyncSession, number_id: str) -> CallGroup | None:
    stmt = select(CallGroup).where(CallGroup.number_id == number_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def replace_members(session: AsyncSession, group_id: str, user_ids: Sequence[str]) -> None:
    await session.execute(delete(GroupMember).where(GroupMember.group_id == group_id))
    session.add_all(GroupMember(group_id=group_id, user_id=u) for u in user_ids)
    await session.flush()


async def delete_group(session: AsyncSession, group: CallGroup) -> None:
    await session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    await session.delete(group)
    await session.flush()
