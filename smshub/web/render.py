"""Templates, page responses, flash messages and the security headers of every page."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from smshub.auth.actor import Actor
from smshub.numbers.rules import display

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
FLASH_COOKIE = "smshub_flash"
PAGE_SIZE = 25

# htmx settings: its indicator <style> is off so the CSP needs no 'unsafe-inline'; no
# eval; no page snapshots in localStorage (they would hold the CSRF token), so Back
# reloads the page; and every response is swapped, error pages too, since the server
# renders them for people.
HTMX_CONFIG = json.dumps(
    {
        "includeIndicatorStyles": False,
        "allowEval": False,
        "historyCacheSize": 0,
        "refreshOnHistoryMiss": True,
        "responseHandling": [
            {"code": "204", "swap": False},
            {"code": "...", "swap": True},
        ],
    },
    separators=(",", ":"),
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Vary": "Cookie, HX-Request, HX-Target",
}


@lru_cache
def static_url(path: str) -> str:
    """/static/<path>?v=<content hash>, so browsers refetch a file only when it changes."""
    digest = hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:10]
    return f"/static/{path}?v={digest}"


def pretty(e164: str | None) -> str:
    return display(e164) if e164 else ""


def query(path: str, **params: str | None) -> str:
    """A path with the non-empty params as its query string."""
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(static_url=static_url, htmx_config=HTMX_CONFIG, query=query)
    env.filters["pretty"] = pretty
    return env


templates = _env()


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )


def htmx_target(request: Request) -> str | None:
    return request.headers.get("hx-target") if is_htmx(request) else None


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    actor: Actor | None = None,
    status_code: int = 200,
    nav: str | None = None,
) -> HTMLResponse:
    """A page (or a fragment) rendered with the layout's common context."""
    ctx: dict[str, Any] = {
        "request": request,
        "actor": actor,
        "csrf_token": actor.csrf_token if actor else None,
        "nav": nav,
        "flash": None,
    }
    flash = request.cookies.get(FLASH_COOKIE)
    if flash and actor is not None and not is_htmx(request):
        ctx["flash"] = unquote(flash)[:300]
    ctx.update(context or {})
    html = templates.get_template(name).render(ctx)
    response = HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
    if ctx["flash"]:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(request: Request, url: str, *, flash: str | None = None) -> Response:
    """303 See Other after a POST (or to the login page), with an optional flash message."""
    response: Response = RedirectResponse(url, status_code=303)
    if is_htmx(request):
        # htmx would follow a 303 inside the XHR and swap a whole page into a fragment.
        response = Response(status_code=200, headers={"HX-Redirect": url})
    if flash:
        settings = request.app.state.settings
        response.set_cookie(
            FLASH_COOKIE,
            quote(flash[:300]),
            max_age=60,
            path="/",
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
        )
    return response


def error_page(
    request: Request, status_code: int, title: str, message: str, actor: Actor | None = None
) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"title": title, "message": message, "status": status_code},
        actor=actor,
        status_code=status_code,
    )
