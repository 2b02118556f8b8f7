"""REST: /lists, their entries, CSV import, template and export (B1). Admin only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile

from smshub.kit.deps import DB, AdminActor, Cursor, Limit
from smshub.kit.pagination import Page
from smshub.lists import csvimport, importer, schemas, service

router = APIRouter(tags=["lists"])
CSV = "text/csv; charset=utf-8"


@router.get("/lists", response_model=Page[schemas.RecipientList])
async def list_lists(
    session: DB, actor: AdminActor, cursor: Cursor = None, limit: Limit = 50
) -> Page[schemas.RecipientList]:
    return await service.list_lists(session, actor, cursor=cursor, limit=limit)


@router.post("/lists", response_model=schemas.RecipientList, status_code=201)
async def create_list(
    session: DB, actor: AdminActor, data: schemas.ListCreate
) -> schemas.RecipientList:
    created = await service.create_list(session, actor, data.name)
    return (await service.present(session, [created]))[0]


@router.get("/lists/template.csv", response_class=Response)
async def list_template(actor: AdminActor) -> Response:
    """A CSV to fill in: `number` plus example columns that become placeholders."""
    headers = {"Content-Disposition": 'attachment; filename="recipients-template.csv"'}
    return Response(csvimport.template(), media_type=CSV, headers=headers)


@router.get("/lists/{list_id}", response_model=schemas.RecipientList)
async def get_list(session: DB, actor: AdminActor, list_id: str) -> schemas.RecipientList:
    found = await service.access_list_by_id(session, actor, list_id)
    return (await service.present(session, [found]))[0]


@router.patch("/lists/{list_id}", response_model=schemas.RecipientList)
async def rename_list(
    session: DB, actor: AdminActor, list_id: str, data: schemas.ListUpdate
) -> schemas.RecipientList:
    found = await service.rename_list(session, actor, list_id, data.name)
    return (await service.present(session, [found]))[0]


@router.delete("/lists/{list_id}", status_code=204)
async def delete_list(session: DB, actor: AdminActor, list_id: str) -> Response:
    await service.delete_list(session, actor, list_id)
    return Response(status_code=204)


@router.get("/lists/{list_id}/entries", response_model=Page[schemas.Entry])
async def list_entries(
    session: DB, actor: AdminActor, list_id: str, cursor: Cursor = None, limit: Limit = 50
) -> Page[schemas.Entry]:
    return await service.list_entries(session, actor, list_id, cursor=cursor, limit=limit)


@router.post("/lists/{list_id}/entries", response_model=schemas.Entry, status_code=201)
async def add_entry(
    session: DB, actor: AdminActor, list_id: str, data: schemas.EntryCreate
) -> schemas.Entry:
    return schemas.Entry.model_validate(await service.add_entry(session, actor, list_id, data))


@router.patch("/lists/{list_id}/entries/{entry_id}", response_model=schemas.Entry)
async def update_entry(
    session: DB, actor: AdminActor, list_id: str, entry_id: str, data: schemas.EntryUpdate
) -> schemas.Entry:
    entry = await service.update_entry(session, actor, list_id, entry_id, data)
    return schemas.Entry.model_validate(entry)


@router.delete("/lists/{list_id}/entries/{entry_id}", status_code=204)
async def delete_entry(session: DB, actor: AdminActor, list_id: str, entry_id: str) -> Response:
    await service.delete_entry(session, actor, list_id, entry_id)
    return Response(status_code=204)


@router.post("/lists/{list_id}/import", response_model=schemas.ImportReport)
async def import_entries(
    session: DB,
    actor: AdminActor,
    list_id: str,
    file: Annotated[UploadFile, File(description="CSV: a 'number' column plus any others.")],
    country: Annotated[
        schemas.Region | None, Form(description="Region of national-format numbers, e.g. US.")
    ] = None,
) -> schemas.ImportReport:
    """Stream the CSV into the list. Each rejected row comes back with its row number,
    value and reason (invalid E.164 number, duplicate, missing column, line too long)."""
    chunks = importer.chunks_of(file.file)
    return await service.import_entries(session, actor, list_id, chunks, country)


@router.get("/lists/{list_id}/export.csv", response_class=Response)
async def export_list(session: DB, actor: AdminActor, list_id: str) -> Response:
    parts = [line async for line in service.export_csv(session, actor, list_id)]
    headers = {"Content-Disposition": f'attachment; filename="list-{list_id}.csv"'}
    return Response("".join(parts), media_type=CSV, headers=headers)
