"""REST: /me, /tenant and /users."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from smshub.auth import schemas, service
from smshub.kit.deps import DB, CurrentActor, Cursor, Limit, Search
from smshub.kit.pagination import Page
from smshub.numbers import service as numbers_service

router = APIRouter(tags=["users"])


@router.get("/me", response_model=schemas.Me)
async def me(request: Request, session: DB, actor: CurrentActor) -> schemas.Me:
    user = await service.access_user_by_id(session, actor, actor.user_id)
    tenant = await service.get_tenant(session, actor.tenant_id)
    numbers = await numbers_service.numbers_of(session, actor)
    blocked = service.sms_block(request.app.state.settings.sms_enabled, tenant, user)
    return schemas.Me(
        sms_enabled=blocked is None,
        sms_disabled_reason=blocked,
        user=schemas.User.model_validate(user),
        tenant=schemas.TenantOut.model_validate(tenant),
        role=actor.role,
        numbers=numbers,
        preferences=schemas.Preferences.model_validate(user),
    )


@router.patch("/me/preferences", response_model=schemas.Preferences)
async def update_preferences(
    session: DB, actor: CurrentActor, data: schemas.PreferencesUpdate
) -> schemas.Preferences:
    """The caller's own message-center settings; fields left out keep their value."""
    user = await service.update_preferences(session, actor, data)
    return schemas.Preferences.model_validate(user)


@router.get("/tenant", response_model=schemas.TenantOut)
async def get_tenant(session: DB, actor: CurrentActor) -> schemas.TenantOut:
    return schemas.TenantOut.model_validate(await service.get_tenant(session, actor.tenant_id))


@router.patch("/tenant", response_model=schemas.TenantOut)
async def update_tenant(
    session: DB, actor: CurrentActor, data: schemas.TenantUpdate
) -> schemas.TenantOut:
    return schemas.TenantOut.model_validate(await service.update_tenant(session, actor, data))


@router.get("/users", response_model=Page[schemas.User])
async def list_users(
    session: DB, actor: CurrentActor, q: Search = None, cursor: Cursor = None, limit: Limit = 50
) -> Page[schemas.User]:
    return await service.list_users(session, actor, q=q, cursor=cursor, limit=limit)


@router.post("/users", response_model=schemas.User, status_code=201)
async def create_user(session: DB, actor: CurrentActor, data: schemas.UserCreate) -> schemas.User:
    return schemas.User.model_validate(await service.create_user(session, actor, data))


@router.get("/users/{user_id}", response_model=schemas.User)
async def get_user(session: DB, actor: CurrentActor, user_id: str) -> schemas.User:
    return schemas.User.model_validate(await service.access_user_by_id(session, actor, user_id))


@router.patch("/users/{user_id}", response_model=schemas.User)
async def update_user(
    session: DB, actor: CurrentActor, user_id: str, data: schemas.UserUpdate
) -> schemas.User:
    return schemas.User.model_validate(await service.update_user(session, actor, user_id, data))


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(session: DB, actor: CurrentActor, user_id: str) -> Response:
    await service.delete_user(session, actor, user_id)
    return Response(status_code=204)
