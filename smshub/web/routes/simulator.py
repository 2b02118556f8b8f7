"""The phone simulator (K4): an admin plays the external mobile user and chats with the
company's numbers. The page holds the chat; `static/simulator.js` sends through
POST /api/v1/simulator/inbound and reads what the network delivered to the phone from
GET /api/v1/simulator/outbox (a dev tool: it refreshes while the tab is visible)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from smshub.contacts import service as contacts_service
from smshub.kit.deps import DB
from smshub.kit.pagination import Page
from smshub.numbers import service as numbers_service
from smshub.numbers.rules import e164_problem
from smshub.numbers.schemas import Number
from smshub.web.deps import AdminActor, WebRoute
from smshub.web.pages import fetch_all
from smshub.web.render import render

router = APIRouter(route_class=WebRoute)
NAV = "simulator"
DEFAULT_PHONE = "+12025550123"
# The picker offers this many phonebook numbers; any other can be typed.
CONTACT_CHOICES = 200

Phone = Annotated[str | None, Query(max_length=32)]


@router.get("/simulator")
async def simulator_page(
    request: Request, session: DB, actor: AdminActor, phone: Phone = None, number: Phone = None
) -> Response:
    async def fetch_numbers(cursor: str | None, limit: int) -> Page[Number]:
        return await numbers_service.list_numbers(
            session, actor, q=None, cursor=cursor, limit=limit
        )

    numbers = await fetch_all(fetch_numbers)
    contacts = await contacts_service.list_contacts(
        session, actor, q=None, cursor=None, limit=CONTACT_CHOICES
    )
    choices = [(n.e164, c.name) for c in contacts.items for n in c.numbers]
    phone = (phone or "").strip() or DEFAULT_PHONE
    selected = next((n for n in numbers if n.e164 == number), numbers[0] if numbers else None)
    return render(
        request,
        "simulator/index.html",
        {
            "phone": phone,
            "phone_problem": e164_problem(phone),
            "numbers": numbers,
            "selected": selected,
            "choices": choices,
        },
        actor=actor,
        nav=NAV,
    )
