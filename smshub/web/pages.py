"""What the list, form and delete pages of every entity share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor
from smshub.auth.schemas import User
from smshub.kit.errors import Conflict
from smshub.kit.pagination import Page
from smshub.web.render import PAGE_SIZE, htmx_target, is_htmx, redirect, render

T = TypeVar("T")
Fetch = Callable[[str | None, int], Awaitable[Page[T]]]
# Forms list at most this many choices (extensions, numbers); beyond it, search pages.
CHOICES_CAP = 2000
SEARCH_MAX = 200


def clean_search(q: str | None) -> str | None:
    q = (q or "").strip()[:SEARCH_MAX]
    return q or None


async def fetch_all(fetch: Fetch[T], cap: int = CHOICES_CAP) -> list[T]:
    """Every item, page by page (bounded): the choices of a form."""
    out: list[T] = []
    cursor: str | None = None
    while len(out) < cap:
        page = await fetch(cursor, 200)
        out.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return out[:cap]


async def all_users(session: Any, actor: Actor) -> list[User]:
    async def fetch(cursor: str | None, limit: int) -> Page[User]:
        return await auth_service.list_users(session, actor, q=None, cursor=cursor, limit=limit)

    users = await fetch_all(fetch)
    return sorted(users, key=lambda u: (len(u.extension), u.extension))


async def list_page(
    request: Request,
    actor: Actor,
    *,
    entity: str,
    fetch: Fetch[T],
    q: str | None,
    cursor: str | None,
    nav: str,
    context: dict[str, Any] | None = None,
) -> Response:
    """The list page; to htmx, only the results (live search) or the next rows (more)."""
    page = await fetch(cursor, PAGE_SIZE)
    ctx = {
        "items": page.items,
        "next_cursor": page.next_cursor,
        "q": q or "",
        "cursor": cursor,
        "path": f"/{entity}",
        **(context or {}),
    }
    target = htmx_target(request)
    name = f"{entity}/list.html"
    if target == "results":
        name = f"{entity}/_results.html"
    elif target == "more":
        name = f"{entity}/_rows.html"
    return render(request, name, ctx, actor=actor, nav=nav)


async def delete_flow(
    request: Request,
    actor: Actor,
    *,
    delete: Callable[[], Awaitable[None]],
    rollback: Callable[[], Awaitable[None]],
    confirm: dict[str, Any],
    done_url: str,
    done_message: str,
    nav: str,
) -> Response:
    """Delete after a confirmation page; from an htmx row button, remove the row."""
    try:
        await delete()
    except Conflict as exc:
        if is_htmx(request):
            raise
        await rollback()
        ctx = {**confirm, "error": exc.message}
        return render(request, "confirm_delete.html", ctx, actor=actor, nav=nav, status_code=409)
    if is_htmx(request):
        # The row is swapped for nothing; the message goes out of band to the alert area.
        return render(request, "_deleted.html", {"message": done_message}, actor=actor)
    return redirect(request, done_url, flash=done_message)


def confirm_page(request: Request, actor: Actor, confirm: dict[str, Any], nav: str) -> Response:
    return render(request, "confirm_delete.html", {**confirm, "error": None}, actor=actor, nav=nav)
