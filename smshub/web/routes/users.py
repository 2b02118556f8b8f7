"""Users (PBX extensions): list, add, edit, delete (N2). Admins only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from smshub.auth import schemas
from smshub.auth import service as auth_service
from smshub.auth.actor import Actor
from smshub.kit.deps import DB
from smshub.kit.errors import SmshubError
from smshub.kit.pagination import Page
from smshub.models import User
from smshub.web.deps import AdminActor, WebRoute
from smshub.web.forms import (
    Errors,
    checked,
    optional,
    read_form,
    service_error,
    text,
    validation_errors,
)
from smshub.web.pages import clean_search, confirm_page, delete_flow, list_page
from smshub.web.render import redirect, render

router = APIRouter(route_class=WebRoute)
NAV = "users"
LABELS = {
    "extension": "Extension",
    "name": "Name",
    "email": "Email",
    "role": "Role",
    "sms_enabled": "SMS",
    "password": "Password",
}
FIELDS = {name: name for name in LABELS}


@router.get("/users")
async def users_list(
    request: Request,
    session: DB,
    actor: AdminActor,
    q: str | None = None,
    cursor: str | None = None,
) -> Response:
    q = clean_search(q)

    async def fetch(cursor: str | None, limit: int) -> Page[schemas.User]:
        return await auth_service.list_users(session, actor, q=q, cursor=cursor, limit=limit)

    return await list_page(request, actor, entity="users", fetch=fetch, q=q, cursor=cursor, nav=NAV)


def _values(form: FormData | None, user: User | None = None) -> dict[str, Any]:
    if form is not None:
        return {
            "extension": text(form, "extension").strip(),
            "name": text(form, "name"),
            "email": text(form, "email"),
            "role": text(form, "role") or "user",
            "sms_enabled": checked(form, "sms_enabled"),
        }
    if user is not None:
        return {
            "extension": user.extension,
            "name": user.name,
            "email": user.email or "",
            "role": user.role,
            "sms_enabled": user.sms_enabled,
        }
    return {"extension": "", "name": "", "email": "", "role": "user", "sms_enabled": True}


def _form_page(
    request: Request,
    actor: Actor,
    values: dict[str, Any],
    errors: Errors,
    user: User | None = None,
) -> Response:
    return render(
        request,
        "users/form.html",
        {"values": values, "errors": errors, "user": user},
        actor=actor,
        nav=NAV,
        status_code=422 if errors else 200,
    )


def _payload(values: dict[str, Any], password: str) -> dict[str, Any]:
    return {
        "extension": values["extension"],
        "name": values["name"],
        "email": optional(values["email"]),
        "role": values["role"],
        "sms_enabled": values["sms_enabled"],
        "password": password or None,
    }


@router.get("/users/new")
async def user_new(request: Request, actor: AdminActor) -> Response:
    return _form_page(request, actor, _values(None), {})


@router.post("/users/new")
async def user_create(request: Request, session: DB, actor: AdminActor) -> Response:
    form = await read_form(request)
    values = _values(form)
    try:
        data = schemas.UserCreate.model_validate(_payload(values, text(form, "password")))
        user = await auth_service.create_user(session, actor, data)
    except ValidationError as exc:
        errors = validation_errors(exc, LABELS)
    except SmshubError as exc:
        await session.rollback()
        errors = service_error(exc, FIELDS)
    else:
        return redirect(request, "/users", flash=f"Extension {user.extension} ({user.name}) added.")
    return _form_page(request, actor, values, errors)


@router.get("/users/{user_id}/edit")
async def user_edit(request: Request, session: DB, actor: AdminActor, user_id: str) -> Response:
    user = await auth_service.access_user_by_id(session, actor, user_id)
    return _form_page(request, actor, _values(None, user), {}, user)


@router.post("/users/{user_id}/edit")
async def user_update(request: Request, session: DB, actor: AdminActor, user_id: str) -> Response:
    user = await auth_service.access_user_by_id(session, actor, user_id)
    form = await read_form(request)
    values = _values(form)
    try:
        data = schemas.UserUpdate.model_validate(_payload(values, text(form, "password")))
        await auth_service.update_user(session, actor, user_id, data)
    except ValidationError as exc:
        errors = validation_errors(exc, LABELS)
    except SmshubError as exc:
        await session.rollback()
        errors = service_error(exc, FIELDS)
        user = await auth_service.access_user_by_id(session, actor, user_id)
    else:
        return redirect(request, "/users", flash=f"Extension {user.extension} ({user.name}) saved.")
    return _form_page(request, actor, values, errors, user)


def _confirm(user: User) -> dict[str, Any]:
    return {
        "title": f"Delete extension {user.extension}?",
        "subject": f"{user.name} (extension {user.extension})",
        "consequences": [
            "The extension can no longer sign in or use the API.",
            "It disappears from the numbers and call groups it was on.",
            "Messages it sent keep its name in the history.",
        ],
        "action": f"/users/{user.id}/delete",
        "cancel": "/users",
    }


@router.get("/users/{user_id}/delete")
async def user_delete_confirm(
    request: Request, session: DB, actor: AdminActor, user_id: str
) -> Response:
    user = await auth_service.access_user_by_id(session, actor, user_id)
    return confirm_page(request, actor, _confirm(user), NAV)


@router.post("/users/{user_id}/delete")
async def user_delete(request: Request, session: DB, actor: AdminActor, user_id: str) -> Response:
    user = await auth_service.access_user_by_id(session, actor, user_id)
    confirm = _confirm(user)
    label = f"Extension {user.extension} ({user.name}) deleted."

    async def delete() -> None:
        await auth_service.delete_user(session, actor, user_id)

    return await delete_flow(
        request,
        actor,
        delete=delete,
        rollback=session.rollback,
        confirm=confirm,
        done_url="/users",
        done_message=label,
        nav=NAV,
    )
