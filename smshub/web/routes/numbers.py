"""SMS numbers: list, add, edit (with assignment to extensions), delete (N3, N4, N6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor
from smshub.groups import service as groups_service
from smshub.groups.schemas import Group
from smshub.kit.deps import DB
from smshub.kit.errors import SmshubError
from smshub.kit.pagination import Page
from smshub.numbers import schemas
from smshub.numbers import service as numbers_service
from smshub.web.deps import AdminActor, WebRoute
from smshub.web.forms import (
    Errors,
    checked,
    optional,
    read_form,
    service_error,
    text,
    texts,
    validation_errors,
)
from smshub.web.pages import (
    all_users,
    clean_search,
    confirm_page,
    delete_flow,
    fetch_all,
    list_page,
)
from smshub.web.render import pretty, redirect, render

router = APIRouter(route_class=WebRoute)
NAV = "numbers"
LABELS = {
    "e164": "Phone number",
    "label": "Label",
    "status": "Status",
    "sms_enabled": "SMS",
    "mms_enabled": "MMS",
    "connector_id": "Carrier connector",
    "sender_ids": "Sender IDs",
    "user_ids": "Assigned extensions",
}
FIELDS = {name: name for name in LABELS}
# A bad sender ID in the list is reported on the one form field.
RENAME = {f"sender_ids.{i}": "sender_ids" for i in range(20)}


async def all_numbers(session: AsyncSession, actor: Actor) -> list[schemas.Number]:
    async def fetch(cursor: str | None, limit: int) -> Page[schemas.Number]:
        return await numbers_service.list_numbers(
            session, actor, q=None, cursor=cursor, limit=limit
        )

    return await fetch_all(fetch)


async def all_groups(session: AsyncSession, actor: Actor) -> list[Group]:
    async def fetch(cursor: str | None, limit: int) -> Page[Group]:
        return await groups_service.list_groups(session, actor, q=None, cursor=cursor, limit=limit)

    return await fetch_all(fetch)


@router.get("/numbers")
async def numbers_list(
    request: Request,
    session: DB,
    actor: AdminActor,
    q: str | None = None,
    cursor: str | None = None,
) -> Response:
    q = clean_search(q)

    async def fetch(cursor: str | None, limit: int) -> Page[schemas.Number]:
        return await numbers_service.list_numbers(session, actor, q=q, cursor=cursor, limit=limit)

    groups = {g.id: g.name for g in await all_groups(session, actor)}
    return await list_page(
        request,
        actor,
        entity="numbers",
        fetch=fetch,
        q=q,
        cursor=cursor,
        nav=NAV,
        context={"groups": groups},
    )


def _values(form: FormData | None, number: schemas.Number | None = None) -> dict[str, Any]:
    if form is not None:
        return {
            "e164": text(form, "e164").strip(),
            "label": text(form, "label"),
            "status": text(form, "status") or "active",
            "sms_enabled": checked(form, "sms_enabled"),
            "mms_enabled": checked(form, "mms_enabled"),
            "connector_id": text(form, "connector_id").strip(),
            "sender_ids": text(form, "sender_ids").strip(),
            "user_ids": texts(form, "user_ids"),
        }
    if number is not None:
        return {
            "e164": number.e164,
            "label": number.label,
            "status": number.status,
            "sms_enabled": number.sms_enabled,
            "mms_enabled": number.mms_enabled,
            "connector_id": number.connector_id or "",
            "sender_ids": ", ".join(number.sender_ids),
            "user_ids": [a.id for a in number.assignees],
        }
    return {
        "e164": "",
        "label": "",
        "status": "active",
        "sms_enabled": True,
        "mms_enabled": False,
        "connector_id": "",
        "sender_ids": "",
        "user_ids": [],
    }


async def _form_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    values: dict[str, Any],
    errors: Errors,
    number: schemas.Number | None = None,
) -> Response:
    users = await all_users(session, actor)
    numbers = await all_numbers(session, actor)
    # Which other numbers each extension has: the one-number policy is visible up front.
    elsewhere: dict[str, list[str]] = {}
    for n in numbers:
        if number is None or n.id != number.id:
            for a in n.assignees:
                elsewhere.setdefault(a.id, []).append(n.e164)
    tenant = await auth_service.get_tenant(session, actor.tenant_id)
    group = None
    if number is not None and number.group_id:
        group = next((g for g in await all_groups(session, actor) if g.id == number.group_id), None)
    return render(
        request,
        "numbers/form.html",
        {
            "values": values,
            "errors": errors,
            "number": number,
            "group": group,
            "users": users,
            "elsewhere": elsewhere,
            "one_number": tenant.one_number_per_extension,
        },
        actor=actor,
        nav=NAV,
        status_code=422 if errors else 200,
    )


def _update_payload(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": values["label"],
        "status": values["status"],
        "sms_enabled": values["sms_enabled"],
        "mms_enabled": values["mms_enabled"],
        "connector_id": optional(values["connector_id"]),
        "sender_ids": [s.strip() for s in values["sender_ids"].split(",") if s.strip()],
    }


@router.get("/numbers/new")
async def number_new(request: Request, session: DB, actor: AdminActor) -> Response:
    return await _form_page(request, session, actor, _values(None), {})


@router.post("/numbers/new")
async def number_create(request: Request, session: DB, actor: AdminActor) -> Response:
    values = _values(await read_form(request))
    try:
        data = schemas.NumberCreate.model_validate(
            {"e164": values["e164"], **_update_payload(values)}
        )
        number = await numbers_service.create_number(session, actor, data)
        if values["user_ids"]:
            await numbers_service.set_assignees(session, actor, number.id, values["user_ids"])
    except ValidationError as exc:
        errors = validation_errors(exc, LABELS, RENAME)
    except SmshubError as exc:
        await session.rollback()
        errors = service_error(exc, FIELDS)
    else:
        return redirect(request, "/numbers", flash=f"{pretty(number.e164)} added.")
    return await _form_page(request, session, actor, values, errors)


async def _number(session: AsyncSession, actor: Actor, number_id: str) -> schemas.Number:
    number = await numbers_service.access_number_by_id(session, actor, number_id)
    return (await numbers_service.present(session, [number]))[0]


@router.get("/numbers/{number_id}/edit")
async def number_edit(request: Request, session: DB, actor: AdminActor, number_id: str) -> Response:
    number = await _number(session, actor, number_id)
    return await _form_page(request, session, actor, _values(None, number), {}, number)


@router.post("/numbers/{number_id}/edit")
async def number_update(
    request: Request, session: DB, actor: AdminActor, number_id: str
) -> Response:
    number = await _number(session, actor, number_id)
    values = _values(await read_form(request))
    values["e164"] = number.e164
    try:
        data = schemas.NumberUpdate.model_validate(_update_payload(values))
        await numbers_service.update_number(session, actor, number_id, data)
        await numbers_service.set_assignees(session, actor, number_id, values["user_ids"])
    except ValidationError as exc:
        errors = validation_errors(exc, LABELS, RENAME)
    except SmshubError as exc:
        await session.rollback()
        errors = service_error(exc, FIELDS)
        number = await _number(session, actor, number_id)
    else:
        return redirect(request, "/numbers", flash=f"{pretty(number.e164)} saved.")
    return await _form_page(request, session, actor, values, errors, number)


def _confirm(number: schemas.Number) -> dict[str, Any]:
    return {
        "title": f"Delete {pretty(number.e164)}?",
        "subject": f"{pretty(number.e164)}" + (f" ({number.label})" if number.label else ""),
        "consequences": [
            "The number stops sending and receiving at once.",
            "Its extensions and call group lose it.",
            "Its message history is kept.",
        ],
        "action": f"/numbers/{number.id}/delete",
        "cancel": "/numbers",
    }


@router.get("/numbers/{number_id}/delete")
async def number_delete_confirm(
    request: Request, session: DB, actor: AdminActor, number_id: str
) -> Response:
    number = await _number(session, actor, number_id)
    return confirm_page(request, actor, _confirm(number), NAV)


@router.post("/numbers/{number_id}/delete")
async def number_delete(
    request: Request, session: DB, actor: AdminActor, number_id: str
) -> Response:
    number = await _number(session, actor, number_id)

    async def delete() -> None:
        await numbers_service.delete_number(session, actor, number_id)

    return await delete_flow(
        request,
        actor,
        delete=delete,
        rollback=session.rollback,
        confirm=_confirm(number),
        done_url="/numbers",
        done_message=f"{pretty(number.e164)} deleted.",
        nav=NAV,
    )
