"""REST: /connectors."""

from __future__ import annotations

from fastapi import APIRouter

from smshub.carriers import schemas, service
from smshub.kit.deps import DB, CurrentActor
from smshub.kit.pagination import Page

router = APIRouter(tags=["connectors"])


@router.get("/connectors", response_model=Page[schemas.Connector])
async def list_connectors(session: DB, actor: CurrentActor) -> Page[schemas.Connector]:
    rows = await service.list_connectors(session, actor)
    return Page(items=[service.present(c) for c in rows])


@router.post("/connectors", response_model=schemas.Connector, status_code=201)
async def create_connector(
    session: DB, actor: CurrentActor, data: schemas.ConnectorCreate
) -> schemas.Connector:
    return service.present(await service.create_connector(session, actor, data))


@router.get("/connectors/{connector_id}", response_model=schemas.Connector)
async def get_connector(session: DB, actor: CurrentActor, connector_id: str) -> schemas.Connector:
    return service.present(await service.access_connector_by_id(session, actor, connector_id))


@router.patch("/connectors/{connector_id}", response_model=schemas.Connector)
async def update_connector(
    session: DB, actor: CurrentActor, connector_id: str, data: schemas.ConnectorUpdate
) -> schemas.Connector:
    return service.present(await service.update_connector(session, actor, connector_id, data))
