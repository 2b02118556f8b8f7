"""REST: /groups (call groups)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from smshub.groups import schemas, service
from smshub.kit.deps import DB, CurrentActor, Cursor, Limit, Search
from smshub.kit.pagination import Page

router = APIRouter(tags=["groups"])


@router.get("/groups", response_model=Page[schemas.Group])
async def list_groups(
    session: DB, actor: CurrentActor, q: Search = None, cursor: Cursor = None, limit: Limit = 50
) -> Page[schemas.Group]:
    return await service.list_groups(session, actor, q=q, cursor=cursor, limit=limit)


@router.post("/groups", response_model=schemas.Group, status_code=201)
async def create_group(
    session: DB, actor: CurrentActor, data: schemas.GroupCreate
) -> schemas.Group:
    group = await service.create_group(session, actor, data)
    return (await service.present(session, [group]))[0]


@router.get("/groups/{group_id}", response_model=schemas.Group)
async def get_group(session: DB, actor: CurrentActor, group_id: str) -> schemas.Group:
    group = await service.access_group_by_id(session, actor, group_id)
    return (await service.present(session, [group]))[0]


@router.patch("/groups/{group_id}", response_model=schemas.Group)
async def update_group(
    session: DB, actor: CurrentActor, group_id: str, data: schemas.GroupUpdate
) -> schemas.Group:
    group = await service.update_group(session, actor, group_id, data)
    return (await service.present(session, [group]))[0]


@router.delete("/groups/{group_id}", status_code=204)
async def delete_group(session: DB, actor: CurrentActor, group_id: str) -> Response:
    await service.delete_group(session, actor, group_id)
    return Response(status_code=204)
