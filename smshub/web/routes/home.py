"""The home page: a small dashboard of the company and of the signed-in extension."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from smshub.auth import service as auth_service
from smshub.contacts import service as contacts_service
from smshub.groups import service as groups_service
from smshub.kit.deps import DB
from smshub.kit.pagination import Page
from smshub.numbers import service as numbers_service
from smshub.web.deps import WebActor, WebRoute
from smshub.web.render import render

router = APIRouter(route_class=WebRoute)
# Counts stop here ("100+"): a dashboard needs the size, not an exact census.
COUNT_CAP = 100


async def _count(page: Awaitable[Page[Any]]) -> str:
    result = await page
    return f"{len(result.items)}+" if result.next_cursor else str(len(result.items))


@router.get("/")
async def home(request: Request, session: DB, actor: WebActor) -> Response:
    tenant = await auth_service.get_tenant(session, actor.tenant_id)
    args: dict[str, Any] = {"q": None, "cursor": None, "limit": COUNT_CAP}
    counts = {"contacts": await _count(contacts_service.list_contacts(session, actor, **args))}
    if actor.is_admin:
        counts["users"] = await _count(auth_service.list_users(session, actor, **args))
        counts["numbers"] = await _count(numbers_service.list_numbers(session, actor, **args))
        counts["groups"] = await _count(groups_service.list_groups(session, actor, **args))
    my_groups = await groups_service.list_groups(session, actor, q=None, cursor=None, limit=1000)
    mine = [g for g in my_groups.items if actor.user_id in {m.id for m in g.members}]
    return render(
        request,
        "home.html",
        {
            "tenant": tenant,
            "counts": counts,
            "my_numbers": await numbers_service.numbers_of(session, actor),
            "my_groups": mine,
        },
        actor=actor,
        nav="home",
    )
