"""Sign in and sign out.

The login form has no session yet, so it is protected by a double-submit token: a random
value in a cookie that must match the form's hidden field.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from smshub.auth import service as auth_service
from smshub.kit.deps import DB, SESSION_COOKIE
from smshub.kit.errors import Unauthenticated
from smshub.web.deps import CSRF_FIELD, WebActor, WebRoute, safe_next, tokens_match
from smshub.web.forms import read_form, text
from smshub.web.render import redirect, render

router = APIRouter(route_class=WebRoute)
LOGIN_CSRF_COOKIE = "smshub_login_csrf"
COMPANY_COOKIE = "smshub_company"


def _login_page(
    request: Request,
    *,
    company: str,
    extension: str,
    next_path: str | None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    token = secrets.token_urlsafe(32)
    focus = "company" if not company else "extension" if not extension else "password"
    response = render(
        request,
        "login.html",
        {
            "login_token": token,
            "company": company,
            "extension": extension,
            "next": next_path or "",
            "error": error,
            "focus": focus,
        },
        status_code=status_code,
    )
    settings = request.app.state.settings
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


@router.get("/login")
async def login_form(
    request: Request,
    session: DB,
    next_path: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> Response:
    target = safe_next(next_path)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            await auth_service.authenticate_session(session, token)
            return redirect(request, target or "/")
        except Unauthenticated:
            pass
    company = request.cookies.get(COMPANY_COOKIE, "")[:60]
    return _login_page(request, company=company, extension="", next_path=target)


@router.post("/login")
async def login(request: Request, session: DB) -> Response:
    form = await read_form(request)
    company = text(form, "company").strip()[:200]
    extension = text(form, "extension").strip()[:20]
    password = text(form, "password")[:200]
    target = safe_next(text(form, "next"))
    if not tokens_match(text(form, CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(
            request,
            company=company,
            extension=extension,
            next_path=target,
            error="The sign-in form expired. Please try again.",
            status_code=403,
        )
    if not (company and extension and password):
        return _login_page(
            request,
            company=company,
            extension=extension,
            next_path=target,
            error="Enter your company, extension and password.",
            status_code=422,
        )
    settings = request.app.state.settings
    try:
        cookie = await auth_service.login(
            session, company, extension, password, ttl_s=settings.session_ttl_s
        )
    except Unauthenticated as exc:
        return _login_page(
            request,
            company=company,
            extension=extension,
            next_path=target,
            error=exc.message,
            status_code=401,
        )
    response = redirect(request, target or "/")
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=settings.session_ttl_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    response.set_cookie(
        COMPANY_COOKIE,
        company,
        max_age=365 * 24 * 3600,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, session: DB, actor: WebActor) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await auth_service.logout(session, token)
    response = redirect(request, "/login", flash=None)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
