"""Contacts (N7): everyone sees the shared phonebook and their personal contacts; admins
edit shared contacts, and each user edits their own personal ones."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from smshub.auth.actor import Actor
from smshub.contacts import schemas
from smshub.contacts import service as contacts_service
from smshub.kit.deps import DB
from smshub.kit.errors import SmshubError
from smshub.kit.pagination import Page
from smshub.web.deps import WebActor, WebRoute
from smshub.web.forms import (
    Errors,
    optional,
    read_form,
    service_error,
    text,
    texts,
    validation_errors,
)
from smshub.web.pages import clean_search, confirm_page, delete_flow, list_page
from smshub.web.render import redirect, render

router = APIRouter(route_class=WebRoute)
NAV = "contacts"
MAX_NUMBERS = 20
LABELS = {
    "name": "Name",
    "email": "Email",
    "numbers": "Numbers",
    "e164": "Phone number",
    "label": "Number label",
}
FIELDS = {"name": "name", "email": "email", "numbers": "numbers"}


@router.get("/contacts")
async def contacts_list(
    request: Request, session: DB, actor: WebActor, q: str | None = None, cursor: str | None = None
) -> Response:
    q = clean_search(q)

    async def fetch(cursor: str | None, limit: int) -> Page[schemas.Contact]:
        return await contacts_service.list_contacts(session, actor, q=q, cursor=cursor, limit=limit)

    return await list_page(
        request, actor, entity="contacts", fetch=fetch, q=q, cursor=cursor, nav=NAV
    )


def _values(form: FormData | None, contact: schemas.Contact | None = None) -> dict[str, Any]:
    if form is not None:
        e164s = texts(form, "number_e164")
        labels = texts(form, "number_label")
        rows = [
            {"e164": e.strip(), "label": lab}
            for e, lab in zip(e164s, labels + [""] * (len(e164s) - len(labels)), strict=False)
            if e.strip() or lab.strip()
        ]
        return {
            "name": text(form, "name"),
            "email": text(form, "email"),
            "scope": "personal" if text(form, "scope") == "personal" else "shared",
            "numbers": rows[: MAX_NUMBERS + 1],
        }
    if contact is not None:
        return {
            "name": contact.name,
            "email": contact.email or "",
            "scope": "personal" if contact.personal else "shared",
            "numbers": [{"e164": n.e164, "label": n.label} for n in contact.numbers],
        }
    return {"name": "", "email": "", "scope": "shared", "numbers": []}


def _payload(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "email": optional(values["email"]),
        "numbers": [{"e164": n["e164"], "label": n["label"]} for n in values["numbers"]],
    }


def _form_page(
    request: Request,
    actor: Actor,
    values: dict[str, Any],
    errors: Errors,
    contact: schemas.Contact | None = None,
) -> Response:
    rows = list(values["numbers"])
    if len(rows) < MAX_NUMBERS:
        rows.append({"e164": "", "label": ""})
    return render(
        request,
        "contacts/form.html",
        {
            "values": values,
            "rows": rows,
            "errors": errors,
            "contact": contact,
            "max_numbers": MAX_NUMBERS,
        },
        actor=actor,
        nav=NAV,
        status_code=422 if errors else 200,
    )


async def _contact(session: AsyncSession, actor: Actor, contact_id: str) -> schemas.Contact:
    contact = await contacts_service.access_contact_by_id(session, actor, contact_id)
    contacts_service.check_can_edit(actor, contact)
    return (await contacts_service.present(session, [contact]))[0]


@router.get("/contacts/new")
async def contact_new(request: Request, actor: WebActor) -> Response:
    return _form_page(request, actor, _values(None), {})


@router.post("/contacts/new")
async def contact_create(request: Request, session: DB, actor: WebActor) -> Response:
    values = _values(await read_form(request))
    try:
        data = schemas.ContactCreate.model_validate(
            {**_payload(values), "personal": values["scope"] == "personal"}
        )
        contact = await contacts_service.create_contact(session, actor, data)
    except ValidationError as exc:
        errors = validation_errors(exc, LABELS)
    except SmshubError as exc:
        await session.rollback()
        errors = service_error(exc, FIELDS)
    else:
        return redirect(request, "/contacts", flash=f"Contact {contact.name} added.")
    return _form_page(request, actor, values, errors)


@router.get("/contacts/{contact_id}/edit")
async def contact_edit(request: Request, session: DB, actor: WebActor, contact_id: str) -> Response:
    contact = await _contact(session, actor, contact_id)
    return _form_page(request, actor, _values(None, contact), {}, contact)


@router.post("/contacts/{contact_id}/edit")
async def contact_update(
    request: Request, session: DB, actor: WebActor, contact_id: str
) -> Response:
    contact = await _contact(session, actor, contact_id)
    values = _values(await read_form(request))
    values["scope"] = "personal" if contact.personal else "shared"
    try:
        data = schemas.ContactUpdate.model_validate(_payload(values))
        await contacts_service.update_contact(session, actor, contact_id, data)
    except ValidationError as exc:
        errors = validation_errors(exc, LABELS)
    except SmshubError as exc:
        await session.rollback()
        errors = service_error(exc, FIELDS)
    else:
        return redirect(request, "/contacts", flash=f"Contact {data.name or contact.name} saved.")
    return _form_page(request, actor, values, errors, contact)


def _confirm(contact: schemas.Contact) -> dict[str, Any]:
    return {
        "title": f"Delete the contact {contact.name}?",
        "subject": contact.name,
        "consequences": [
            "Conversations show the bare number instead of this name.",
            "Messages are not deleted.",
        ]
        + ([] if contact.personal else ["It disappears from everyone's shared phonebook."]),
        "action": f"/contacts/{contact.id}/delete",
        "cancel": "/contacts",
    }


@router.get("/contacts/{contact_id}/delete")
async def contact_delete_confirm(
    request: Request, session: DB, actor: WebActor, contact_id: str
) -> Response:
    contact = await _contact(session, actor, contact_id)
    return confirm_page(request, actor, _confirm(contact), NAV)


@router.post("/contacts/{contact_id}/delete")
async def contact_delete(
    request: Request, session: DB, actor: WebActor, contact_id: str
) -> Response:
    contact = await _contact(session, actor, contact_id)

    async def delete() -> None:
        await contacts_service.delete_contact(session, actor, contact_id)

    return await delete_flow(
        request,
        actor,
        delete=delete,
        rollback=session.rollback,
        confirm=_confirm(contact),
        done_url="/contacts",
        done_message=f"Contact {contact.name} deleted.",
        nav=NAV,
    )
