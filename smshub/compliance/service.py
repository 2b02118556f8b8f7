"""The blocklist and opt-out compliance (B5): one entry point per state change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor, check_admin
from smshub.compliance import keywords
from smshub.kit.cache import cache
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.errors import InvalidInput, NotFound
from smshub.kit.ids import new_id
from smshub.models import BlocklistEntry, ComplianceKeyword

IN_BATCH = 2000


async def opt_out(
    session: AsyncSession, tenant_id: str, e164: str, clock: Clock | None = None
) -> None:
    """Add a number to the tenant blocklist because its owner asked (source `opt_out`)."""
    await _add(session, tenant_id, e164, "opt_out", clock)


async def opt_in(session: AsyncSession, tenant_id: str, e164: str) -> None:
    await session.execute(
        delete(BlocklistEntry).where(
            BlocklistEntry.tenant_id == tenant_id, BlocklistEntry.e164 == e164
        )
    )


async def _add(
    session: AsyncSession, tenant_id: str, e164: str, source: str, clock: Clock | None
) -> None:
    values = {
        "tenant_id": tenant_id,
        "e164": e164,
        "source": source,
        "created_at": (clock or SystemClock()).now(),
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(BlocklistEntry).values(id=new_id(), **values)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["tenant_id", "e164"]))


async def is_blocklisted(session: AsyncSession, tenant_id: str, e164: str) -> bool:
    stmt = select(BlocklistEntry.id).where(
        BlocklistEntry.tenant_id == tenant_id, BlocklistEntry.e164 == e164
    )
    return (await session.execute(stmt)).first() is not None


async def list_blocklist(
    session: AsyncSession, actor: Actor, *, cursor: str | None, limit: int
) -> Sequence[BlocklistEntry]:
    check_admin(actor)
    stmt = select(BlocklistEntry).where(BlocklistEntry.tenant_id == actor.tenant_id)
    if cursor:
        stmt = stmt.where(BlocklistEntry.id > cursor)
    return (
        (await session.execute(stmt.order_by(BlocklistEntry.id).limit(limit + 1))).scalars().all()
    )


async def blocklisted_among(
    session: AsyncSession, tenant_id: str, numbers: Sequence[str]
) -> set[str]:
    """Which of these numbers the tenant blocklists (one indexed query per batch)."""
    found: set[str] = set()
    for start in range(0, len(numbers), IN_BATCH):
        part = numbers[start : start + IN_BATCH]
        stmt = select(BlocklistEntry.e164).where(
            BlocklistEntry.tenant_id == tenant_id, BlocklistEntry.e164.in_(part)
        )
        found.update((await session.execute(stmt)).scalars())
    return found


async def add_entry(
    session: AsyncSession, actor: Actor, e164: str, clock: Clock | None = None
) -> BlocklistEntry:
    """An admin blocklists a number by hand (source `manual`); adding it again is a no-op."""
    check_admin(actor)
    await _add(session, actor.tenant_id, e164, "manual", clock)
    return await access_entry(session, actor, e164)


async def access_entry(session: AsyncSession, actor: Actor, e164: str) -> BlocklistEntry:
    check_admin(actor)
    stmt = select(BlocklistEntry).where(
        BlocklistEntry.tenant_id == actor.tenant_id, BlocklistEntry.e164 == e164
    )
    entry = (await session.execute(stmt)).scalar_one_or_none()
    if entry is None:
        raise NotFound(f"{e164} is not on the blocklist.", field="e164")
    return entry


async def remove_entry(session: AsyncSession, actor: Actor, e164: str) -> None:
    entry = await access_entry(session, actor, e164)
    await session.delete(entry)
    await session.flush()


async def add_many(
    session: AsyncSession, tenant_id: str, numbers: Sequence[str], source: str, now: datetime
) -> set[str]:
    """Insert numbers not yet blocklisted; returns those that already were."""
    present = await blocklisted_among(session, tenant_id, numbers)
    rows = [
        {"id": new_id(), "tenant_id": tenant_id, "e164": n, "source": source, "created_at": now}
        for n in numbers
        if n not in present
    ]
    if rows:
        await session.execute(insert(BlocklistEntry), rows)
    return present


async def list_keywords(session: AsyncSession, actor: Actor) -> Sequence[ComplianceKeyword]:
    check_admin(actor)
    stmt = select(ComplianceKeyword).where(ComplianceKeyword.tenant_id == actor.tenant_id)
    return (await session.execute(stmt.order_by(ComplianceKeyword.word))).scalars().all()


async def set_keywords(
    session: AsyncSession, actor: Actor, words: Mapping[str, Sequence[str]]
) -> Sequence[ComplianceKeyword]:
    """Replace the tenant's own keywords: {"opt_out": [...], "opt_in": [...], "help": [...]}."""
    check_admin(actor)
    seen: dict[str, str] = {}
    for action, items in words.items():
        for word in items:
            norm = keywords.normalize(word)
            if norm in seen and seen[norm] != action:
                raise InvalidInput(
                    f"keywords: {norm} cannot be both {seen[norm]} and {action}.",
                    field=f"keywords.{action}",
                    code="keyword_conflict",
                )
            seen[norm] = action
    await session.execute(
        delete(ComplianceKeyword).where(ComplianceKeyword.tenant_id == actor.tenant_id)
    )
    for word, action in seen.items():
        session.add(ComplianceKeyword(tenant_id=actor.tenant_id, word=word, action=action))
    await session.flush()
    return await list_keywords(session, actor)


async def keyword_action(
    session: AsyncSession, tenant_id: str, body: str
) -> keywords.Action | None:
    """What an inbound message asks for: the built-in words plus the tenant's own."""
    word = keywords.normalize(body)
    if not word or " " in word:
        return None
    custom = (await custom_keywords(session, tenant_id)).get(word)
    if custom in ("opt_out", "opt_in", "help"):
        return custom  # type: ignore[return-value]
    return keywords.classify(body)


async def custom_keywords(session: AsyncSession, tenant_id: str) -> dict[str, str]:
    """The tenant's own keywords, cached: every inbound message asks (writes invalidate)."""

    async def load() -> dict[str, str]:
        stmt = select(ComplianceKeyword.word, ComplianceKeyword.action).where(
            ComplianceKeyword.tenant_id == tenant_id
        )
        return {w: a for w, a in (await session.execute(stmt)).all()}

    return await cache.get(("keywords", tenant_id), load)
