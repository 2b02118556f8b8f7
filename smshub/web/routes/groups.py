"""Call groups: members and one SMS number (N5). Admins only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from smshub.auth.actor import Actor
from smshub.groups import schemas
from smshub.groups import service as groups_service
from smshub.kit.deps import DB
from smshub.kit.errors import SmshubError
from smshub.kit.pagination import Page
from smshub.web.deps import AdminActor, WebRoute
from smshub.web.forms import (
    Errors,
    optional,
    read_form,
    service_error,
    text,
    texts,
    validation_errors,
)
from smshub.web.pages import all_users, clean_search, confirm_page, delete_flow, list_page
from smshub.web.render import pretty, redirect, render
from smshub.web.routes.numbers import all_groups, all_numbers

router = APIRouter(route_class=WebRoute)
NAV = "groups"
LABELS = {"name": "Name", "number_id": "SMS number", "member_ids": "Members"}
FIELDS = {name: name for name in LABELS}


@router.get("/groups")
async def groups_list(
    request: Request,
    session: DB,
    actor: AdminActor,
    q: str | None = None,
    cursor: str | None = None,
) -> Response:
    q = clean_search(q)

    async def fetch(cursor: str | None, limit: int) -> Page[schemas.Group]:
        return await groups_service.list_groups(session, actor, q=q, cursor=cursor, limit=limit)

    return await list_page(
        request, actor, entity="groups", fetch=fetch, q=q, cursor=cursor, nav=NAV
    )


def _values(form: FormData | None, group: schemas.Group | None = None) -> dict[str, Any]:
    if form is not None:
        return {
            "name": text(form, "name"),
            "number_id": text(form, "number_id"),
            "member_ids": texts(form, "member_ids"),
        }
    if group is not None:
        return {
            "name": group.name,
            "number_id": group.number_id or "",
            "member_ids": [m.id for m in group.members],
        }
    return {"name": "", "number_id": "", "member_ids": []}


def _payload(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "number_id": optional(values["number_id"]),
        "member_ids": values["member_ids"],
    }


async def _form_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    values: dict[str, Any],
    errors: Errors,
    group: schemas.Group | None = None,
) -> Response:
    numbers = sorted(await all_numbers(session, actor), key=lambda n: n.e164)
    names = {g.id: g.name for g in await all_groups(session, actor)}
    # A number serves one group: say which group has each one taken.
    taken = {
        n.id: names.get(n.group_id, "another group")
        for n in numbers
        if n.group_id and (group is None or n.group_id != group.id)
    }
    options = [("", "No number")]
    for n in numbers:
        caption = pretty(n.e164) + (f" · {n.label}" if n.label else "")
        if n.id in taken:
            caption += f" (serves {taken[n.id]})"
        options.append((n.id, caption))
    return render(
        request,
        "groups/form.html",
        {
            "values": values,
            "errors": errors,
            "group": group,
            "users": await all_users(session, actor),
            "number_options": options,
        },
        actor=actor,
        nav=NAV,
        status_code=422 if errors else 200,
    )


async def _group(session: AsyncSession, actor: Actor, group_id: str) -> schemas.Group:
    group = await groups_service.access_group_by_id(session, actor, group_id)
    return (await groups_service.present(session, [group]))[0]


@router.get("/groups/new")
async def group_new(request: Request, session: DB, actor: AdminActor) -> Response:
    return await _form_page(request, session, actor, _values(None), {})


@router.post("/groups/new")
async def group_create(request: Request, session: DB, actor: AdminActor) -> Response:
    values = _values(await read_form(request))
    try:
        data = schemas.GroupCreate.model_validate(_payload(values))
        group = await groups_service.create_group(session, actor, data)
    except ValidationError as exc:
        errors = validation_errors(exc, LABELS)
    except SmshubError as exc:
        await session.rollback()
        errors = service_error(exc, FIELDS)
    else:
        return redirect(request, "/groups", flash=f"Group {group.name} added.")
    return await _form_page(request, session, actor, values, errors)


@router.get("/groups/{group_id}/edit")
async def group_edit(request: Request, session: DB, actor: AdminActor, group_id: str) -> Response:
    group = await _group(session, actor, group_id)
    return await _form_page(request, session, actor, _values(None, group), {}, group)


@router.post("/groups/{group_id}/edit")
async def group_update(request: Request, session: DB, actor: AdminActor, group_id: str) -> Response:
    group = await _group(session, actor, group_id)
    values = _values(await read_form(request))
    try:
        data = schemas.GroupUpdate.model_validate(_payload(values))
        await groups_service.update_group(session, actor, group_id, data)
    except ValidationError as exc:
        errors = validation_errors(exc, LABELS)
    except SmshubError as exc:
        await session.rollback()
        errors = service_error(exc, FIELDS)
        group = await _group(session, actor, group_id)
    else:
        return redirect(request, "/groups", flash=f"Group {data.name or group.name} saved.")
    return await _form_page(request, session, actor, values, errors, group)


def _confirm(group: schemas.Group) -> dict[str, Any]:
    return {
        "title": f"Delete the group {group.name}?",
        "subject": group.name,
        "consequences": [
            "Its members stop receiving the messages of its number through the group.",
            "The number itself and its message history stay.",
        ],
        "action": f"/groups/{group.id}/delete",
        "cancel": "/groups",
    }


@router.get("/groups/{group_id}/delete")
async def group_delete_confirm(
    request: Request, session: DB, actor: AdminActor, group_id: str
) -> Response:
    group = await _group(session, actor, group_id)
    return confirm_page(request, actor, _confirm(group), NAV)


@router.post("/groups/{group_id}/delete")
async def group_delete(request: Request, session: DB, actor: AdminActor, group_id: str) -> Response:
    group = await _group(session, actor, group_id)

    async def delete() -> None:
        await groups_service.delete_group(session, actor, group_id)

    return await delete_flow(
        request,
        actor,
        delete=delete,
        rollback=session.rollback,
        confirm=_confirm(group),
        done_url="/groups",
        done_message=f"Group {group.name} deleted.",
        nav=NAV,
    )
