"""REST: /contacts (the phonebook)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from smshub.contacts import schemas, service
from smshub.kit.deps import DB, CurrentActor, Cursor, Limit, Search
from smshub.kit.pagination import Page

router = APIRouter(tags=["contacts"])


@router.get("/contacts", response_model=Page[schemas.Contact])
async def list_contacts(
    session: DB, actor: CurrentActor, q: Search = None, cursor: Cursor = None, limit: Limit = 50
) -> Page[schemas.Contact]:
    return await service.list_contacts(session, actor, q=q, cursor=cursor, limit=limit)


@router.post("/contacts", response_model=schemas.Contact, status_code=201)
async def create_contact(
    session: DB, actor: CurrentActor, data: schemas.ContactCreate
) -> schemas.Contact:
    contact = await service.create_contact(session, actor, data)
    return (await service.present(session, [contact]))[0]


@router.get("/contacts/{contact_id}", response_model=schemas.Contact)
async def get_contact(session: DB, actor: CurrentActor, contact_id: str) -> schemas.Contact:
    contact = await service.access_contact_by_id(session, actor, contact_id)
    return (await service.present(session, [contact]))[0]


@router.patch("/contacts/{contact_id}", response_model=schemas.Contact)
async def update_contact(
    session: DB, actor: CurrentActor, contact_id: str, data: schemas.ContactUpdate
) -> schemas.Contact:
    contact = await service.update_contact(session, actor, contact_id, data)
    return (await service.present(session, [contact]))[0]


@router.delete("/contacts/{contact_id}", status_code=204)
async def delete_contact(session: DB, actor: CurrentActor, contact_id: str) -> Response:
    await service.delete_contact(session, actor, contact_id)
    return Response(status_code=204)
