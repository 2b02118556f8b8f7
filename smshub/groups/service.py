"""Use cases for call groups: members and one SMS number (N5)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor, check_admin
from smshub.groups import repository as repo
from smshub.groups import schemas
from smshub.kit.errors import Conflict, InvalidInput, NotFound
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.models import CallGroup
from smshub.numbers import repository as numbers_repo


async def access_group_by_id(session: AsyncSession, actor: Actor, group_id: str) -> CallGroup:
    group = await repo.group(session, actor.tenant_id, group_id)
    if group is None:
        raise NotFound("No such group.", field="id")
    if not actor.is_admin:
        members = await repo.members(session, [group.id])
        if actor.user_id not in {u.id for u in members[group.id]}:
            raise NotFound("No such group.", field="id")
    return group


async def present(session: AsyncSession, groups: Sequence[CallGroup]) -> list[schemas.Group]:
    people = await repo.members(session, [g.id for g in groups])
    e164s = await repo.number_e164s(session, [g.number_id for g in groups if g.number_id])
    out = []
    for g in groups:
        item = schemas.Group.model_validate(g)
        item.members = [
            schemas.Member(id=u.id, extension=u.extension, name=u.name) for u in people[g.id]
        ]
        item.number = e164s.get(g.number_id or "")
        out.append(item)
    return out


async def list_groups(
    session: AsyncSession, actor: Actor, *, q: str | None, cursor: str | None, limit: int
) -> Page[schemas.Group]:
    """Admins see all groups; users see the groups they belong to."""
    rows = await repo.list_groups(
        session,
        actor.tenant_id,
        member=None if actor.is_admin else actor.user_id,
        q=q,
        cursor=check_cursor(cursor),
        limit=limit,
    )
    return Page(items=await present(session, rows[:limit]), next_cursor=next_cursor(rows, limit))


async def _check_members(session: AsyncSession, actor: Actor, ids: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(ids))
    found = {u.id for u in await numbers_repo.live_users(session, actor.tenant_id, wanted)}
    missing = [u for u in wanted if u not in found]
    if missing:
        raise InvalidInput(f"No such user: {missing[0]}.", field="member_ids", code="unknown_user")
    return wanted


async def _check_number(
    session: AsyncSession, actor: Actor, number_id: str, group_id: str | None
) -> None:
    number = await numbers_repo.live_number(session, actor.tenant_id, number_id)
    if number is None:
        raise InvalidInput("No such number.", field="number_id", code="unknown_number")
    other = await repo.group_using_number(session, number_id)
    if other is not None and other.id != group_id:
        raise Conflict(
            f"{number.e164} already serves the group '{other.name}'.",
            field="number_id",
            code="number_in_group",
        )


async def create_group(session: AsyncSession, actor: Actor, data: schemas.GroupCreate) -> CallGroup:
    check_admin(actor)
    members = await _check_members(session, actor, data.member_ids)
    if data.number_id:
        await _check_number(session, actor, data.number_id, None)
    group = CallGroup(tenant_id=actor.tenant_id, name=data.name, number_id=data.number_id)
    session.add(group)
    await session.flush()
    await repo.replace_members(session, group.id, members)
    return group


async def update_group(
    session: AsyncSession, actor: Actor, group_id: str, data: schemas.GroupUpdate
) -> CallGroup:
    check_admin(actor)
    group = await access_group_by_id(session, actor, group_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("number_id"):
        await _check_number(session, actor, changes["number_id"], group.id)
    if "number_id" in changes:
        group.number_id = changes["number_id"]
    if changes.get("name"):
        group.name = changes["name"]
    if data.member_ids is not None:
        await repo.replace_members(
            session, group.id, await _check_members(session, actor, data.member_ids)
        )
    await session.flush()
    return group


async def delete_group(session: AsyncSession, actor: Actor, group_id: str) -> None:
    check_admin(actor)
    group = await access_group_by_id(session, actor, group_id)
    await repo.delete_group(session, group)
