"""Server-rendered admin pages (Jinja2 + htmx): one module per page."""

from fastapi import APIRouter

from smshub.web.routes import (
    auth,
    campaigns,
    connectors,
    contacts,
    forwarding,
    groups,
    home,
    messages,
    numbers,
    simulator,
    users,
)

router = APIRouter(include_in_schema=False)
for _module in (
    auth,
    home,
    messages,
    simulator,
    users,
    numbers,
    groups,
    contacts,
    connectors,
    campaigns,
    forwarding,
):
    router.include_router(_module.router)
