"""FastAPI dependencies shared by every API module: the unit of work and the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor, check_admin
from smshub.kit.db import unit_of_work
from smshub.kit.errors import Forbidden, Unauthenticated

SESSION_COOKIE = "smshub_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_bearer = HTTPBearer(auto_error=False, description="An API key from `smshub apikey create`.")


async def _db(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with unit_of_work(request.app.state.sessions) as session:
        yield session


DB = Annotated[AsyncSession, Depends(_db, scope="function")]


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


async def authenticate(
    request: Request, session: AsyncSession, credentials: HTTPAuthorizationCredentials | None
) -> Actor:
    """The caller from a Bearer API key or the web session cookie (shared with the SSE
    endpoint, which authenticates in a short transaction of its own)."""
    if credentials is not None:
        return await auth_service.authenticate_api_key(session, credentials.credentials)
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


async def _actor(request: Request, session: DB, credentials: BearerCredentials) -> Actor:
    return await authenticate(request, session, credentials)


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
