"""Queries for contacts and their numbers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.models import Contact, ContactNumber


def _visible(tenant_id: str, user_id: str):  # type: ignore[no-untyped-def]
    return (Contact.tenant_id == tenant_id) & (
        Contact.owner_user_id.is_(None) | (Contact.owner_user_id == user_id)
    )


async def contact(
    session: AsyncSession, tenant_id: str, user_id: str, contact_id: str
) -> Contact | None:
    stmt = select(Contact).where(Contact.id == contact_id, _visible(tenant_id, user_id))
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_contacts(
    session: AsyncSession,
    tenant_id: str,
    user_id: str,
    *,
    q: str | None,
    cursor: str | None,
    limit: int,
) -> Sequence[Contact]:
    stmt = select(Contact).where(_visible(tenant_id, user_id))
    if q:
        like = f"%{q.lower()}%"
        by_number = select(ContactNumber.contact_id).where(
            ContactNumber.tenant_id == tenant_id, ContactNumber.e164.like(like)
        )
        stmt = stmt.where(
            or_(
                func.lower(Contact.name).like(like),
                func.lower(Contact.email).like(like),
                Contact.id.in_(by_number),
            )
        )
    if cursor:
        stmt = stmt.where(Contact.id > cursor)
    return (await session.execute(stmt.order_by(Contact.id).limit(limit + 1))).scalars().all()


async def numbers(
    session: AsyncSession, contact_ids: Sequence[str]
) -> dict[str, list[ContactNumber]]:
    out: dict[str, list[ContactNumber]] = {c: [] for c in contact_ids}
    if not contact_ids:
        return out
    stmt = select(ContactNumber).where(ContactNumber.contact_id.in_(contact_ids))
    for row in (await session.execute(stmt.order_by(ContactNumber.id))).scalars():
        out[row.contact_id].append(row)
    return out


async def replace_numbers(
    session: AsyncSession, contact: Contact, items: Sequence[tuple[str, str]]
) -> None:
    await session.execute(delete(ContactNumber).where(ContactNumber.contact_id == contact.id))
    session.add_all(
        ContactNumber(contact_id=contact.id, tenant_id=contact.tenant_id, e164=e, label=label)
        for e, label in items
    )
    await session.flush()


async def delete_contact(session: AsyncSession, contact: Contact) -> None:
    await session.execute(delete(ContactNumber).where(ContactNumber.contact_id == contact.id))
    await session.delete(contact)
    await session.flush()


async def names_for(
    session: AsyncSession, tenant_id: str, user_id: str, e164s: Sequence[str]
) -> dict[str, str]:
    if not e164s:
        return {}
    stmt = (
        select(ContactNumber.e164, Contact.name, Contact.owner_user_id)
        .join(Contact, Contact.id == ContactNumber.contact_id)
        .where(ContactNumber.e164.in_(e164s), _visible(tenant_id, user_id))
        .order_by(Contact.id)
    )
    out: dict[str, str] = {}
    for e164, name, owner in (await session.execute(stmt)).all():
        if e164 not in out or owner is not None:
            out[e164] = name
    return out
