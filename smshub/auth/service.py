"""Use cases for tenants, users, API keys and logins (N1, N2).

Services flush and never commit: the edge (endpoint, CLI, task) owns the transaction.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import repository as repo
from smshub.auth import schemas
from smshub.auth.actor import Actor, check_admin
from smshub.auth.security import (
    dummy_hash,
    hash_password,
    hash_token,
    new_api_key,
    new_token,
    verify_password,
)
from smshub.kit.cache import cache
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.kit.validation import invalid_from
from smshub.models import ApiKey, Tenant, User, WebSession


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:60] or "tenant"


async def create_tenant(
    session: AsyncSession,
    name: str,
    *,
    admin_extension: str,
    admin_name: str,
    admin_password: str,
) -> tuple[Tenant, User, str]:
    """Create a tenant with its first admin extension and an API key for it."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("name must be 1 to 200 characters.", field="name")
    slug = slugify(name)
    if await repo.tenant_by_slug(session, slug):
        raise Conflict(f"A tenant named like '{name}' exists already.", field="name")
    tenant = Tenant(name=name, slug=slug)
    session.add(tenant)
    await session.flush()
    try:
        data = schemas.UserCreate(
            extension=admin_extension, name=admin_name, role="admin", password=admin_password
        )
    except ValidationError as exc:
        raise invalid_from(exc)
    user = await _insert_user(session, tenant.id, data)
    key = await _insert_api_key(session, user)
    return tenant, user, key


async def tenant_policy(session: AsyncSession, tenant_id: str) -> schemas.TenantOut:
    """The tenant's settings as a cacheable snapshot (read on every send)."""

    async def load() -> schemas.TenantOut:
        return schemas.TenantOut.model_validate(await get_tenant(session, tenant_id))

    return await cache.get(("tenant", tenant_id), load)


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant:
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.", field="tenant_id")
    return tenant


async def update_tenant(session: AsyncSession, actor: Actor, data: schemas.TenantUpdate) -> Tenant:
    check_admin(actor)
    tenant = await get_tenant(session, actor.tenant_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(tenant, field, value)
    await session.flush()
    return tenant


async def create_api_key(session: AsyncSession, tenant_id: str, extension: str) -> str:
    await get_tenant(session, tenant_id)
    user = await repo.user_by_extension(session, tenant_id, extension)
    if user is None:
        raise NotFound(f"No extension {extension} in this tenant.", field="extension")
    return await _insert_api_key(session, user)


async def _insert_api_key(session: AsyncSession, user: User) -> str:
    key = new_api_key()
    session.add(
        ApiKey(tenant_id=user.tenant_id, user_id=user.id, key_hash=hash_token(key), prefix=key[:8])
    )
    await session.flush()
    return key


def _actor(user: User, csrf: str | None = None) -> Actor:
    return Actor(user.id, user.tenant_id, user.role, user.extension, user.name, csrf)


async def authenticate_api_key(session: AsyncSession, key: str) -> Actor:
    key_hash = hash_token(key)

    async def load() -> Actor | None:
        rows = await repo.actor_rows_by_key(session, key_hash)
        return _actor(rows[0]) if rows else None

    actor = await cache.get(("api_key", key_hash), load)
    if actor is None:
        raise Unauthenticated("The API key is not valid.", code="invalid_api_key")
    return actor


async def authenticate_session(
    session: AsyncSession, token: str, clock: Clock | None = None
) -> Actor:
    now = (clock or SystemClock()).now()
    rows = await repo.actor_rows_by_session(session, hash_token(token), now)
    if rows is None:
        raise Unauthenticated("Please sign in.", code="session_expired")
    return _actor(rows[0], rows[1].csrf_token)


async def login(
    session: AsyncSession,
    tenant_slug: str,
    extension: str,
    password: str,
    *,
    ttl_s: int,
    clock: Clock | None = None,
) -> str:
    """Check a password login and open a web session; returns the cookie token."""
    tenant = await repo.tenant_by_slug(session, slugify(tenant_slug))
    user = await repo.user_by_extension(session, tenant.id, extension) if tenant else None
    # Hash even when there is no such user, so the answer's timing reveals nothing.
    ok = verify_password(user.password_hash if user else dummy_hash(), password)
    if user is None or not user.password_hash or not ok:
        raise Unauthenticated(
            "Company, extension or password is wrong.", code="bad_credentials", field="password"
        )
    token = new_token()
    now = (clock or SystemClock()).now()
    session.add(
        WebSession(
            token_hash=hash_token(token),
            user_id=user.id,
            csrf_token=new_token(),
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    await session.flush()
    return token


async def logout(session: AsyncSession, token: str) -> None:
    row = await repo.web_session_by_hash(session, hash_token(token))
    if row is not None:
        await session.delete(row)
        await session.flush()


def sms_block(system: bool, tenant: Tenant | None, user: User | None) -> str | None:
    """Which level of the three-level SMS switch is off (N2), or None when all are on."""
    if not system:
        return "SMS is disabled for this system."
    if tenant is not None and not tenant.sms_enabled:
        return "SMS is disabled for this company."
    if user is not None and not user.sms_enabled:
        return f"SMS is disabled for extension {user.extension}."
    return None


async def check_sms_enabled(session: AsyncSession, actor: Actor, *, system: bool) -> None:
    """Raise Forbidden naming the level where SMS is switched off."""

    async def load() -> str | None:
        tenant = await get_tenant(session, actor.tenant_id)
        user = await access_user_by_id(session, actor, actor.user_id)
        return sms_block(True, tenant, user)

    problem = sms_block(system, None, None) or await cache.get(("sms", actor.user_id), load)
    if problem:
        raise Forbidden(problem, code="sms_disabled")


# Users (extensions)


async def access_user_by_id(session: AsyncSession, actor: Actor, user_id: str) -> User:
    """A live user of the actor's tenant; another tenant's user looks absent."""
    user = await repo.live_user(session, actor.tenant_id, user_id)
    if user is None:
        raise NotFound("No such user.", field="id")
    return user


async def list_users(
    session: AsyncSession, actor: Actor, *, q: str | None, cursor: str | None, limit: int
) -> Page[schemas.User]:
    rows = await repo.list_users(session, actor.tenant_id, q, check_cursor(cursor), limit)
    items = [schemas.User.model_validate(u) for u in rows[:limit]]
    return Page(items=items, next_cursor=next_cursor(rows, limit))


async def create_user(session: AsyncSession, actor: Actor, data: schemas.UserCreate) -> User:
    check_admin(actor)
    return await _insert_user(session, actor.tenant_id, data)


async def _insert_user(session: AsyncSession, tenant_id: str, data: schemas.UserCreate) -> User:
    await _check_extension_free(session, tenant_id, data.extension)
    user = User(
        tenant_id=tenant_id,
        extension=data.extension,
        name=data.name,
        email=data.email,
        role=data.role,
        sms_enabled=data.sms_enabled,
        password_hash=hash_password(data.password) if data.password else None,
    )
    session.add(user)
    await session.flush()
    return user


async def _check_extension_free(
    session: AsyncSession, tenant_id: str, extension: str, user_id: str | None = None
) -> None:
    other = await repo.user_by_extension(session, tenant_id, extension)
    if other is not None and other.id != user_id:
        raise Conflict(
            f"Extension {extension} exists already.", field="extension", code="extension_taken"
        )


async def update_user(
    session: AsyncSession, actor: Actor, user_id: str, data: schemas.UserUpdate
) -> User:
    check_admin(actor)
    user = await access_user_by_id(session, actor, user_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("extension"):
        await _check_extension_free(session, actor.tenant_id, changes["extension"], user.id)
    if user.id == actor.user_id and changes.get("role") == "user":
        raise Conflict("You cannot remove your own admin role.", field="role")
    password = changes.pop("password", None)
    if password:
        user.password_hash = hash_password(password)
    for field, value in changes.items():
        if value is not None or field == "email":
            setattr(user, field, value)
    await session.flush()
    return user


async def update_preferences(
    session: AsyncSession, actor: Actor, data: schemas.PreferencesUpdate
) -> User:
    """Change the caller's own message-center settings (any role, own user only)."""
    user = await access_user_by_id(session, actor, actor.user_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(user, field, value)
    await session.flush()
    return user


async def delete_user(
    session: AsyncSession, actor: Actor, user_id: str, clock: Clock | None = None
) -> None:
    """Soft delete: the extension's messages keep their sender."""
    check_admin(actor)
    user = await access_user_by_id(session, actor, user_id)
    if user.id == actor.user_id:
        raise Conflict("You cannot delete your own extension.", field="id")
    user.deleted_at = (clock or SystemClock()).now()
    await session.flush()
