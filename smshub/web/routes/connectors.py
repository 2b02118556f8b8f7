"""Carrier connectors (K1): each connector's state, its throughput over the last minute
and its last errors, for operators. Read-only; connectors are configured through the API."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from smshub.carriers import metrics
from smshub.carriers import service as carriers_service
from smshub.kit.deps import DB
from smshub.web.deps import AdminActor, WebRoute
from smshub.web.render import render

router = APIRouter(route_class=WebRoute)
NAV = "connectors"


@router.get("/connectors")
async def connectors_page(request: Request, session: DB, actor: AdminActor) -> Response:
    rows = []
    for connector in await carriers_service.list_connectors(session, actor):
        shown = carriers_service.present(connector)
        errors = [
            (datetime.fromtimestamp(at, UTC), text)
            for at, text in reversed(metrics.last_errors(connector.id))
        ]
        rows.append(
            {
                "c": shown,
                "per_minute": metrics.sent_last_minute(connector.id),
                "errors": errors[:5],
            }
        )
    return render(request, "connectors/list.html", {"rows": rows}, actor=actor, nav=NAV)
