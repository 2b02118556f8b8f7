"""Queries for tenants, users, API keys and web sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.models import ApiKey, Tenant, User, WebSession


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()


async def live_user(session: AsyncSession, tenant_id: str, user_id: str) -> User | None:
    stmt = select(User).where(
        User.id == user_id, User.tenant_id == tenant_id, User.deleted_at.is_(None)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def user_by_extension(session: AsyncSession, tenant_id: str, extension: str) -> User | None:
    stmt = select(User).where(
        User.tenant_id == tenant_id, User.extension == extension, User.deleted_at.is_(None)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_users(
    session: AsyncSession, tenant_id: str, q: str | None, cursor: str | None, limit: int
) -> Sequence[User]:
    stmt = select(User).where(User.tenant_id == tenant_id, User.deleted_at.is_(None))
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(User.name).like(like),
                User.extension.like(like),
                func.lower(User.email).like(like),
            )
        )
    if cursor:
        stmt = stmt.where(User.id > cursor)
    return (await session.execute(stmt.order_by(User.id).limit(limit + 1))).scalars().all()


async def actor_rows_by_key(session: AsyncSession, key_hash: str) -> tuple[User, Tenant] | None:
    stmt = (
        select(User, Tenant)
        .join(ApiKey, ApiKey.user_id == User.id)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None), User.deleted_at.is_(None))
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def actor_rows_by_session(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[User, WebSession] | None:
    stmt = (
        select(User, WebSession)
        .join(WebSession, WebSession.user_id == User.id)
        .where(
            WebSession.token_hash == token_hash,
            WebSession.expires_at > now,
            User.deleted_at.is_(None),
        )
    )
    row = (await session.execute(stmt)).first()
    return (row[0], row[1]) if row else None


async def web_session_by_hash(session: AsyncSession, token_hash: str) -> WebSession | None:
    stmt = select(WebSession).where(WebSession.token_hash == token_hash)
    return (await session.execute(stmt)).scalar_one_or_none()
