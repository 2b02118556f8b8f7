"""Predefined lists (B1): tenant-scoped, admin-only; entries imported from CSV in batches."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor, check_admin
from smshub.compliance import service as compliance
from smshub.kit.errors import Conflict, NotFound
from smshub.kit.ids import new_id
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.lists import csvimport, importer, schemas
from smshub.lists import repository as repo
from smshub.models import ListEntry, RecipientList

EXPORT_PAGE = 2000


async def _is_empty(session: AsyncSession, list_id: str) -> bool:
    stmt = select(ListEntry.id).where(ListEntry.list_id == list_id).limit(1)
    return (await session.execute(stmt)).first() is None


async def access_list_by_id(session: AsyncSession, actor: Actor, list_id: str) -> RecipientList:
    check_admin(actor)
    found = await session.get(RecipientList, list_id)
    if found is None or found.tenant_id != actor.tenant_id:
        raise NotFound("No such list.", field="list_id")
    return found


async def present(
    session: AsyncSession, lists: Sequence[RecipientList]
) -> list[schemas.RecipientList]:
    ids = [x.id for x in lists]
    counts: dict[str, int] = {}
    if ids:
        stmt = (
            select(ListEntry.list_id, func.count())
            .where(ListEntry.list_id.in_(ids))
            .group_by(ListEntry.list_id)
        )
        counts = {k: int(v) for k, v in (await session.execute(stmt)).all()}
    return [
        schemas.RecipientList(id=x.id, name=x.name, columns=x.columns, entries=counts.get(x.id, 0))
        for x in lists
    ]


async def list_lists(
    session: AsyncSession, actor: Actor, *, cursor: str | None, limit: int
) -> Page[schemas.RecipientList]:
    check_admin(actor)
    stmt = select(RecipientList).where(RecipientList.tenant_id == actor.tenant_id)
    if check_cursor(cursor):
        stmt = stmt.where(RecipientList.id > cursor)
    rows = (await session.execute(stmt.order_by(RecipientList.id).limit(limit + 1))).scalars().all()
    return Page(items=await present(session, rows[:limit]), next_cursor=next_cursor(rows, limit))


async def create_list(session: AsyncSession, actor: Actor, name: str) -> RecipientList:
    check_admin(actor)
    created = RecipientList(tenant_id=actor.tenant_id, name=name, columns=[])
    session.add(created)
    await session.flush()
    return created


async def rename_list(
    session: AsyncSession, actor: Actor, list_id: str, name: str
) -> RecipientList:
    found = await access_list_by_id(session, actor, list_id)
    found.name = name
    await session.flush()
    return found


async def delete_list(session: AsyncSession, actor: Actor, list_id: str) -> None:
    found = await access_list_by_id(session, actor, list_id)
    await session.execute(delete(ListEntry).where(ListEntry.list_id == found.id))
    await session.delete(found)
    await session.flush()


async def list_entries(
    session: AsyncSession, actor: Actor, list_id: str, *, cursor: str | None, limit: int
) -> Page[schemas.Entry]:
    found = await access_list_by_id(session, actor, list_id)
    rows = await entries_after(session, found.id, check_cursor(cursor), limit + 1)
    items = [schemas.Entry.model_validate(r) for r in rows[:limit]]
    return Page(items=items, next_cursor=next_cursor(rows, limit))


async def entries_after(
    session: AsyncSession, list_id: str, after: str | None, limit: int
) -> Sequence[ListEntry]:
    """A keyset page of a list's entries (campaigns copy lists with this)."""
    stmt = select(ListEntry).where(ListEntry.list_id == list_id)
    if after:
        stmt = stmt.where(ListEntry.id > after)
    return (await session.execute(stmt.order_by(ListEntry.id).limit(limit))).scalars().all()


async def _check_unique(
    session: AsyncSession, list_id: str, e164: str, entry_id: str | None
) -> None:
    stmt = select(ListEntry.id).where(ListEntry.list_id == list_id, ListEntry.e164 == e164)
    existing = (await session.execute(stmt)).scalar_one_or_none()
    if existing is not None and existing != entry_id:
        raise Conflict(f"{e164} is already in this list.", field="e164", code="duplicate")


async def add_entry(
    session: AsyncSession, actor: Actor, list_id: str, data: schemas.EntryCreate
) -> ListEntry:
    found = await access_list_by_id(session, actor, list_id)
    await _check_unique(session, found.id, data.e164, None)
    entry = ListEntry(list_id=found.id, e164=data.e164, fields=_clean(data.fields))
    session.add(entry)
    _extend_columns(found, entry.fields)
    await session.flush()
    return entry


async def access_entry_by_id(
    session: AsyncSession, actor: Actor, list_id: str, entry_id: str
) -> tuple[RecipientList, ListEntry]:
    found = await access_list_by_id(session, actor, list_id)
    entry = await session.get(ListEntry, entry_id)
    if entry is None or entry.list_id != found.id:
        raise NotFound("No such entry.", field="entry_id")
    return found, entry


async def update_entry(
    session: AsyncSession, actor: Actor, list_id: str, entry_id: str, data: schemas.EntryUpdate
) -> ListEntry:
    found, entry = await access_entry_by_id(session, actor, list_id, entry_id)
    if data.e164 is not None:
        await _check_unique(session, found.id, data.e164, entry.id)
        entry.e164 = data.e164
    if data.fields is not None:
        entry.fields = _clean(data.fields)
        _extend_columns(found, entry.fields)
    await session.flush()
    return entry


async def delete_entry(session: AsyncSession, actor: Actor, list_id: str, entry_id: str) -> None:
    _, entry = await access_entry_by_id(session, actor, list_id, entry_id)
    await session.delete(entry)
    await session.flush()


def _clean(fields: dict[str, str]) -> dict[str, str]:
    return {k.strip().lower(): v for k, v in fields.items() if k.strip()}


def _extend_columns(found: RecipientList, fields: dict[str, Any]) -> None:
    missing = [k for k in fields if k not in found.columns]
    if missing:
        found.columns = [*found.columns, *missing]


async def import_entries(
    session: AsyncSession, actor: Actor, list_id: str, chunks: Iterable[bytes], region: str | None
) -> schemas.ImportReport:
    """Stream a CSV into the list: bad rows are reported, good ones kept (B1)."""
    found = await access_list_by_id(session, actor, list_id)
    # A new list cannot hold duplicates of the file: skip the per-batch lookups.
    was_empty = await _is_empty(session, found.id)

    async def store(batch: list[csvimport.Accepted]) -> tuple[set[str], int]:
        numbers = [row.e164 for row in batch]
        present: set[str] = set()
        if not was_empty:
            stmt = select(ListEntry.e164).where(
                ListEntry.list_id == found.id, ListEntry.e164.in_(numbers)
            )
            present = set((await session.execute(stmt)).scalars())
        rows = [
            {"id": new_id(), "list_id": found.id, "e164": r.e164, "fields": r.fields}
            for r in batch
            if r.e164 not in present
        ]
        if rows:
            await repo.insert_entries(session, rows)
        blocked = await compliance.blocklisted_among(session, actor.tenant_id, numbers)
        return present, len(blocked - present)

    report = await importer.run_import(chunks, region, store)
    _extend_columns(found, dict.fromkeys(report.columns, ""))
    await session.flush()
    return report


async def export_csv(session: AsyncSession, actor: Actor, list_id: str) -> AsyncIterator[str]:
    """The list as CSV (number plus its columns), page by page."""
    found = await access_list_by_id(session, actor, list_id)
    columns = list(found.columns)
    after: str | None = None
    yield _csv_line(["number", *columns])
    while True:
        rows = await entries_after(session, found.id, after, EXPORT_PAGE)
        for r in rows:
            yield _csv_line([r.e164, *(str(r.fields.get(c, "")) for c in columns)])
        if len(rows) < EXPORT_PAGE:
            return
        after = rows[-1].id


def _csv_line(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()
