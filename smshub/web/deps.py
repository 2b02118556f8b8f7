"""The web session, CSRF checks and the route class that turns errors into pages.

Pages authenticate with the session cookie. Every unsafe request must carry the session's
CSRF token, as the form field `csrf_token` or (htmx) the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor
from smshub.kit.deps import DB, SAFE_METHODS, SESSION_COOKIE
from smshub.kit.errors import Forbidden, SmshubError, Unauthenticated
from smshub.web.render import error_page, is_htmx, query, redirect, render

log = logging.getLogger(__name__)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    422: "Invalid input",
    500: "Server error",
}


class LoginRequired(Exception):
    """No valid session: the page redirects to the login form."""


class CsrfFailed(Exception):
    """An unsafe request without the session's CSRF token."""


def tokens_match(sent: str | None, expected: str | None) -> bool:
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


async def form_token(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    value = (await request.form()).get(CSRF_FIELD)
    return value if isinstance(value, str) else None


async def check_csrf(request: Request, expected: str | None) -> None:
    if tokens_match(request.headers.get(CSRF_HEADER), expected):
        return
    if tokens_match(await form_token(request), expected):
        return
    raise CsrfFailed()


async def _web_actor(request: Request, session: DB) -> Actor:
    request.state.db = session
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired()
    try:
        actor = await auth_service.authenticate_session(session, token)
    except Unauthenticated:
        raise LoginRequired()
    request.state.actor = actor
    if request.method not in SAFE_METHODS:
        await check_csrf(request, actor.csrf_token)
    return actor


async def _admin_actor(actor: Annotated[Actor, Depends(_web_actor)]) -> Actor:
    if not actor.is_admin:
        raise Forbidden(
            "This page is for company admins. Ask an admin if you need a change here.",
            code="admin_required",
        )
    return actor


WebActor = Annotated[Actor, Depends(_web_actor)]
AdminActor = Annotated[Actor, Depends(_admin_actor)]


def safe_next(value: str | None) -> str | None:
    """Only a relative path of this site: never another host (open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ch in value for ch in "\\\r\n\t") or len(value) > 2000:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def login_url(request: Request) -> str:
    target: str | None = None
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    elif is_htmx(request):
        current = urlsplit(request.headers.get("hx-current-url", ""))
        target = current.path + (f"?{current.query}" if current.query else "")
    target = safe_next(target)
    return query("/login", next=target if target != "/" else None)


async def _rollback(request: Request) -> None:
    """Drop whatever a failed use case changed before the unit of work commits."""
    session = getattr(request.state, "db", None)
    if session is not None:
        await session.rollback()


def _problem(request: Request, status: int, message: str) -> Response:
    actor: Actor | None = getattr(request.state, "actor", None)
    if is_htmx(request):
        # Show the message in the page's alert area instead of the request's target.
        response = render(
            request,
            "_alert.html",
            {"message": message, "kind": "error"},
            actor=actor,
            status_code=status,
        )
        response.headers["HX-Retarget"] = "#alerts"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return error_page(request, status, TITLES.get(status, "Error"), message, actor)


class WebRoute(APIRoute):
    """Pages answer in HTML: login redirects, error pages, and no JSON error bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def web_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                response = redirect(request, login_url(request))
                if request.cookies.get(SESSION_COOKIE):
                    response.delete_cookie(SESSION_COOKIE, path="/")
                return response
            except CsrfFailed:
                await _rollback(request)
                return _problem(
                    request,
                    403,
                    "This form has expired or did not come from this site. "
                    "Reload the page and try again.",
                )
            except SmshubError as exc:
                await _rollback(request)
                return _problem(request, exc.status, exc.message)
            except RequestValidationError as exc:
                await _rollback(request)
                errors = list(exc.errors())
                where = ".".join(str(p) for p in errors[0]["loc"]) if errors else "request"
                return _problem(request, 400, f"The address or form is not valid ({where}).")
            except HTTPException as exc:
                await _rollback(request)
                return _problem(request, exc.status_code, str(exc.detail))
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                await _rollback(request)
                return _problem(request, 500, "Something went wrong on our side; it was logged.")

        return web_handler
