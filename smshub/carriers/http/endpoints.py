"""REST: the HTTP carriers' webhooks, signed by the carrier (no API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers.http import service
from smshub.kit.deps import DB

router = APIRouter(tags=["carrier webhooks"])

# Declared so the OpenAPI document says how these are authenticated; the service checks it.
_signature = APIKeyHeader(
    name="X-Twilio-Signature",
    auto_error=False,
    scheme_name="CarrierSignature",
    description="HMAC-SHA1 of the URL and sorted form parameters with the connector's token.",
)
Signature = Annotated[str | None, Security(_signature)]

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _params(request: Request) -> list[tuple[str, str]]:
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


async def _handle(
    session: AsyncSession, kind: service.Hook, connector_id: str, request: Request
) -> None:
    await service.handle_webhook(
        session,
        kind,
        connector_id,
        url=str(request.url),
        path=request.url.path,
        params=await _params(request),
        headers=request.headers,
    )
    await session.commit()


@router.post("/carriers/http/{connector_id}/inbound", response_class=Response)
async def inbound_webhook(
    session: DB, connector_id: str, request: Request, _: Signature
) -> Response:
    """An inbound message from the carrier (form-encoded, X-Twilio-Signature)."""
    await _handle(session, "inbound", connector_id, request)
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("/carriers/http/{connector_id}/status", status_code=204, response_class=Response)
async def status_webhook(
    session: DB, connector_id: str, request: Request, _: Signature
) -> Response:
    """A status callback: delivered, undelivered, failed (others are progress only)."""
    await _handle(session, "status", connector_id, request)
    return Response(status_code=204)
