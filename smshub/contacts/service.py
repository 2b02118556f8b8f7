"""Use cases for the phonebook: tenant-wide and personal contacts (N7)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor
from smshub.contacts import repository as repo
from smshub.contacts import schemas
from smshub.kit.errors import Forbidden, NotFound
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.models import Contact


async def access_contact_by_id(session: AsyncSession, actor: Actor, contact_id: str) -> Contact:
    found = await repo.contact(session, actor.tenant_id, actor.user_id, contact_id)
    if found is None:
        raise NotFound("No such contact.", field="id")
    return found


def check_can_edit(actor: Actor, contact: Contact) -> None:
    """Shared contacts are the admins'; personal ones their owner's."""
    if contact.owner_user_id is None and not actor.is_admin:
        raise Forbidden("Only admins change shared contacts.", code="admin_required")


async def present(session: AsyncSession, contacts: Sequence[Contact]) -> list[schemas.Contact]:
    nums = await repo.numbers(session, [c.id for c in contacts])
    out = []
    for c in contacts:
        item = schemas.Contact.model_validate(c)
        item.personal = c.owner_user_id is not None
        item.numbers = [schemas.ContactNumber.model_validate(n) for n in nums[c.id]]
        out.append(item)
    return out


async def list_contacts(
    session: AsyncSession, actor: Actor, *, q: str | None, cursor: str | None, limit: int
) -> Page[schemas.Contact]:
    rows = await repo.list_contacts(
        session, actor.tenant_id, actor.user_id, q=q, cursor=check_cursor(cursor), limit=limit
    )
    return Page(items=await present(session, rows[:limit]), next_cursor=next_cursor(rows, limit))


def _number_items(numbers: Sequence[schemas.ContactNumberIn]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for n in numbers:
        seen.setdefault(n.e164, n.label)
    return list(seen.items())


async def create_contact(
    session: AsyncSession, actor: Actor, data: schemas.ContactCreate
) -> Contact:
    personal = data.personal or not actor.is_admin
    contact = Contact(
        tenant_id=actor.tenant_id,
        owner_user_id=actor.user_id if personal else None,
        name=data.name,
        email=data.email,
    )
    session.add(contact)
    await session.flush()
    await repo.replace_numbers(session, contact, _number_items(data.numbers))
    return contact


async def update_contact(
    session: AsyncSession, actor: Actor, contact_id: str, data: schemas.ContactUpdate
) -> Contact:
    contact = await access_contact_by_id(session, actor, contact_id)
    check_can_edit(actor, contact)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name"):
        contact.name = changes["name"]
    if "email" in changes:
        contact.email = changes["email"]
    if data.numbers is not None:
        await repo.replace_numbers(session, contact, _number_items(data.numbers))
    await session.flush()
    return contact


async def delete_contact(session: AsyncSession, actor: Actor, contact_id: str) -> None:
    contact = await access_contact_by_id(session, actor, contact_id)
    check_can_edit(actor, contact)
    await repo.delete_contact(session, contact)


async def names_for(session: AsyncSession, actor: Actor, e164s: list[str]) -> dict[str, str]:
    """Contact names for numbers, as the actor sees the phonebook (personal ones first)."""
    return await repo.names_for(session, actor.tenant_id, actor.user_id, list(set(e164s)))
