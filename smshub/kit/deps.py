"""FastAPI dependencies shared by every API module: the unit of work and the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor, check_admin
from smshub.kit.db import unit_of_work
from smshub.kit.errors import Forbidden, Unauthenticated

SESSION_COOKIE = "smshub_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BEARER = "HTTPBearer"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key from `smshub apikey create`.",
}


async def _db(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with unit_of_work(request.app.state.sessions) as session:
        yield session


DB = Annotated[AsyncSession, Depends(_db, scope="function")]


def bearer_key(request: Request) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, read as FastAPI's HTTPBearer
    reads it. Not a `Security(HTTPBearer())` dependency: FastAPI solves each dependency
    of every request anew, and the scheme is declared in the OpenAPI document by
    `document_auth` instead."""
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() != "bearer" or not credentials:
        return None
    return credentials


async def authenticate(request: Request, session: AsyncSession) -> Actor:
    """The caller from a Bearer API key or the web session cookie (shared with the SSE
    endpoint, which authenticates in a short transaction of its own)."""
    key = bearer_key(request)
    if key is not None:
        return await auth_service.authenticate_api_key(session, key)
    if request.headers.get("authorization"):
        raise Unauthenticated("Use 'Authorization: Bearer <api key>'.", code="invalid_api_key")
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated("Send 'Authorization: Bearer <api key>'.", code="unauthenticated")
    actor = await auth_service.authenticate_session(session, token)
    # Cookie-authenticated writes need the CSRF token of the session.
    if (
        request.method not in SAFE_METHODS
        and request.headers.get("x-csrf-token") != actor.csrf_token
    ):
        raise Forbidden("Missing or wrong X-CSRF-Token header.", code="csrf_failed")
    return actor


# Dependencies that authenticate the caller: an operation that uses one, however deep,
# declares the Bearer scheme in the OpenAPI document.
AUTHENTICATORS: set[Callable[..., Any]] = set()
F = TypeVar("F", bound=Callable[..., Any])


def authenticator(fn: F) -> F:
    AUTHENTICATORS.add(fn)
    return fn


@authenticator
async def _actor(request: Request, session: DB) -> Actor:
    return await authenticate(request, session)


CurrentActor = Annotated[Actor, Depends(_actor)]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Cursor = Annotated[
    str | None, Query(max_length=64, description="next_cursor of the previous page.")
]
Search = Annotated[str | None, Query(max_length=200, description="Text to search for.")]


async def _admin(actor: CurrentActor) -> Actor:
    check_admin(actor)
    return actor


# Admin-only endpoints: the role is checked before the body is read, so a `user` gets 403
# whatever it sends (services check again: the rule lives there).
AdminActor = Annotated[Actor, Depends(_admin)]


def _authenticates(dependant: Dependant) -> bool:
    return any(d.call in AUTHENTICATORS or _authenticates(d) for d in dependant.dependencies)


def document_auth(app: FastAPI) -> None:
    """Declare the Bearer scheme on every operation that authenticates its caller."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:  # built, and declared, once
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})[BEARER] = (
            BEARER_SCHEME
        )
        for route in app.routes:
            if not (isinstance(route, APIRoute) and route.include_in_schema):
                continue
            if _authenticates(route.dependant):
                for method in route.methods:
                    op = schema["paths"][route.path_format][method.lower()]
                    op.setdefault("security", []).insert(0, {BEARER: []})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
