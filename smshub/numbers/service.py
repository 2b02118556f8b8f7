"""Use cases for SMS numbers and their assignment to extensions (N3, N4, N6)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor, check_admin
from smshub.auth.schemas import MeNumber
from smshub.carriers import service as carriers_service
from smshub.kit.cache import cache
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.models import Number, Tenant
from smshub.numbers import repository as repo
from smshub.numbers import schemas


async def access_number_by_id(session: AsyncSession, actor: Actor, number_id: str) -> Number:
    """A live number of the actor's tenant that the actor may see."""
    number = await repo.live_number(session, actor.tenant_id, number_id)
    if number is None or not (
        actor.is_admin or await repo.can_use(session, actor.user_id, number.id)
    ):
        raise NotFound("No such number.", field="id")
    return number


async def present(
    session: AsyncSession, numbers: Sequence[Number], *, admin: bool = False
) -> list[schemas.Number]:
    """The API shape; `admin` adds each number's forwarding (admin-only settings)."""
    ids = [n.id for n in numbers]
    people = await repo.assignees(session, ids)
    groups = await repo.groups_of(session, ids)
    forwarding = {}
    if admin:
        # Lazy: forwarding's service imports this module.
        from smshub.forwarding import service as forwarding_service

        forwarding = await forwarding_service.settings_of(session, ids)
    out = []
    for n in numbers:
        item = schemas.Number.model_validate(n)
        item.assignees = [
            schemas.Assignee(id=u.id, extension=u.extension, name=u.name) for u in people[n.id]
        ]
        item.group_id = groups.get(n.id)
        item.forwarding = forwarding.get(n.id)
        out.append(item)
    return out


async def list_numbers(
    session: AsyncSession, actor: Actor, *, q: str | None, cursor: str | None, limit: int
) -> Page[schemas.Number]:
    """Admins see every number of the tenant; users see the numbers they can use."""
    rows = await repo.list_numbers(
        session,
        actor.tenant_id,
        visible_to=None if actor.is_admin else actor.user_id,
        q=q,
        cursor=check_cursor(cursor),
        limit=limit,
    )
    return Page(
        items=await present(session, rows[:limit], admin=actor.is_admin),
        next_cursor=next_cursor(rows, limit),
    )


async def create_number(session: AsyncSession, actor: Actor, data: schemas.NumberCreate) -> Number:
    check_admin(actor)
    refs = {"connector_id": data.connector_id, "fallback_connector_id": data.fallback_connector_id}
    for field, ref in refs.items():
        if ref:
            await carriers_service.check_connector_usable(session, actor.tenant_id, ref, field)
    if await repo.live_by_e164(session, data.e164):
        raise _taken(data.e164)
    await _check_sender_ids(session, actor.tenant_id, data.sender_ids, None)
    number = Number(tenant_id=actor.tenant_id, **data.model_dump())
    session.add(number)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise _taken(data.e164)
    return number


async def _check_sender_ids(
    session: AsyncSession, tenant_id: str, sender_ids: Sequence[str], number_id: str | None
) -> None:
    """A sender ID names one number of the tenant, so a campaign using it has one route."""
    wanted = {s.casefold(): s for s in sender_ids}
    for other in await repo.live_numbers_of_tenant(session, tenant_id):
        if other.id == number_id:
            continue
        clash = next(
            (wanted[s.casefold()] for s in other.sender_ids if s.casefold() in wanted), None
        )
        if clash is not None:
            raise Conflict(
                f"sender_ids: {clash} is already registered on {other.e164}.",
                field="sender_ids",
                code="sender_id_taken",
            )


async def number_for_sender_id(
    session: AsyncSession, tenant_id: str, sender_id: str
) -> schemas.NumberInfo | None:
    """The tenant's live number that registered this alphanumeric sender ID (N6)."""

    async def load() -> schemas.NumberInfo | None:
        key = sender_id.casefold()
        for number in await repo.live_numbers_of_tenant(session, tenant_id):
            if any(s.casefold() == key for s in number.sender_ids):
                return schemas.NumberInfo.model_validate(number)
        return None

    return await cache.get(("sender_id", tenant_id, sender_id.casefold()), load)


def _taken(e164: str) -> Conflict:
    return Conflict(f"{e164} is already in use.", field="e164", code="number_taken")


async def update_number(
    session: AsyncSession, actor: Actor, number_id: str, data: schemas.NumberUpdate
) -> Number:
    """Change a number's fields and, with `forwarding`, replace its forwarding in the
    same transaction (errors name `forwarding.<field>`)."""
    check_admin(actor)
    number = await access_number_by_id(session, actor, number_id)
    refs = {"connector_id": data.connector_id, "fallback_connector_id": data.fallback_connector_id}
    for field, ref in refs.items():
        if ref:
            await carriers_service.check_connector_usable(session, actor.tenant_id, ref, field)
    if data.sender_ids is not None:
        await _check_sender_ids(session, actor.tenant_id, data.sender_ids, number.id)
    if "forwarding" in data.model_fields_set:
        # Lazy: forwarding's service imports this module.
        from smshub.forwarding import service as forwarding_service
        from smshub.forwarding.schemas import Forwarding

        await forwarding_service.apply_forwarding(
            session, number, data.forwarding or Forwarding(), prefix="forwarding."
        )
    for field, value in data.model_dump(exclude_unset=True, exclude={"forwarding"}).items():
        if value is not None or field in ("connector_id", "fallback_connector_id"):
            setattr(number, field, value)
    await session.flush()
    return number


async def delete_number(
    session: AsyncSession, actor: Actor, number_id: str, clock: Clock | None = None
) -> None:
    """Soft delete: the number stops routing and its history stays."""
    check_admin(actor)
    number = await access_number_by_id(session, actor, number_id)
    number.deleted_at = (clock or SystemClock()).now()
    await repo.detach_number(session, number.id)


async def set_assignees(
    session: AsyncSession, actor: Actor, number_id: str, user_ids: Sequence[str]
) -> Number:
    """Replace who the number is assigned to, under the tenant's one-number policy."""
    check_admin(actor)
    number = await access_number_by_id(session, actor, number_id)
    wanted = list(dict.fromkeys(user_ids))
    users = {u.id: u for u in await repo.live_users(session, actor.tenant_id, wanted)}
    missing = [u for u in wanted if u not in users]
    if missing:
        raise InvalidInput(f"No such user: {missing[0]}.", field="user_ids", code="unknown_user")
    tenant = await session.get(Tenant, actor.tenant_id)
    if tenant and tenant.one_number_per_extension:
        clashes = await repo.other_numbers_of(session, wanted, number.id)
        if clashes:
            user = users[next(iter(clashes))]
            raise Conflict(
                f"Extension {user.extension} already has {clashes[user.id]}; this company "
                "allows one number per extension.",
                field="user_ids",
                code="one_number_per_extension",
            )
    await repo.replace_assignees(session, number.id, wanted)
    return number


async def numbers_of(session: AsyncSession, actor: Actor) -> list[MeNumber]:
    """The numbers the actor can send from, and how they reach them."""
    rows = await repo.usable_numbers(session, actor.tenant_id, actor.user_id)
    return [MeNumber(id=n.id, e164=n.e164, label=n.label, via=via) for n, via in rows]


async def usable_number(session: AsyncSession, actor: Actor, e164: str) -> schemas.NumberInfo:
    """A number the actor may send from: assigned to them or to their call group."""

    async def load() -> schemas.NumberInfo | str:
        number = await repo.live_by_e164(session, e164)
        if number is None or number.tenant_id != actor.tenant_id:
            return f"{e164} is not one of your numbers."
        if not await repo.can_use(session, actor.user_id, number.id):
            return f"{e164} is not assigned to you."
        return schemas.NumberInfo.model_validate(number)

    found = await cache.get(("usable", actor.user_id, e164), load)
    if isinstance(found, str):
        raise Forbidden(found, field="from", code="not_your_number")
    return found


async def users_of_number(session: AsyncSession, number_id: str) -> list[str]:
    """Who sees a number's conversations: assigned extensions and call-group members."""

    async def load() -> tuple[str, ...]:
        return tuple(await repo.users_of_number(session, number_id))

    return list(await cache.get(("users_of", number_id), load))


def visible_number_ids(user_id: str):  # type: ignore[no-untyped-def]
    """A subquery of the number ids the user reaches, for scoping other domains' queries."""
    return repo.visible_number_ids(user_id)


async def number_info(session: AsyncSession, e164: str) -> schemas.NumberInfo | None:
    """The live number with this E.164 as a cached snapshot (hot in the send pipeline)."""

    async def load() -> schemas.NumberInfo | None:
        number = await repo.live_by_e164(session, e164)
        return schemas.NumberInfo.model_validate(number) if number else None

    return await cache.get(("number", e164), load)
