"""REST: /numbers and their assignees."""

from __future__ import annotations

from fastapi import APIRouter, Response

from smshub.kit.deps import DB, CurrentActor, Cursor, Limit, Search
from smshub.kit.pagination import Page
from smshub.numbers import schemas, service

router = APIRouter(tags=["numbers"])


@router.get("/numbers", response_model=Page[schemas.Number])
async def list_numbers(
    session: DB, actor: CurrentActor, q: Search = None, cursor: Cursor = None, limit: Limit = 50
) -> Page[schemas.Number]:
    return await service.list_numbers(session, actor, q=q, cursor=cursor, limit=limit)


@router.post("/numbers", response_model=schemas.Number, status_code=201)
async def create_number(
    session: DB, actor: CurrentActor, data: schemas.NumberCreate
) -> schemas.Number:
    number = await service.create_number(session, actor, data)
    return (await service.present(session, [number], admin=actor.is_admin))[0]


@router.get("/numbers/{number_id}", response_model=schemas.Number)
async def get_number(session: DB, actor: CurrentActor, number_id: str) -> schemas.Number:
    number = await service.access_number_by_id(session, actor, number_id)
    return (await service.present(session, [number], admin=actor.is_admin))[0]


@router.patch("/numbers/{number_id}", response_model=schemas.Number)
async def update_number(
    session: DB, actor: CurrentActor, number_id: str, data: schemas.NumberUpdate
) -> schemas.Number:
    number = await service.update_number(session, actor, number_id, data)
    return (await service.present(session, [number], admin=actor.is_admin))[0]


@router.delete("/numbers/{number_id}", status_code=204)
async def delete_number(session: DB, actor: CurrentActor, number_id: str) -> Response:
    await service.delete_number(session, actor, number_id)
    return Response(status_code=204)


@router.put("/numbers/{number_id}/assignees", response_model=schemas.Number)
async def set_assignees(
    session: DB, actor: CurrentActor, number_id: str, data: schemas.AssigneesSet
) -> schemas.Number:
    number = await service.set_assignees(session, actor, number_id, data.user_ids)
    return (await service.present(session, [number], admin=actor.is_admin))[0]
