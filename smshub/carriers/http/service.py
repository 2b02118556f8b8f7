"""The HTTP carriers' webhooks: an inbound message, a status callback (K3).

They are authenticated by the carrier's signature, not by an API key: a request whose
signature does not verify with the connector's secret is refused with 403 before any of
it is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers import metrics
from smshub.carriers.http import registry
from smshub.carriers.http.base import HttpCarrier, WebhookInputError
from smshub.kit.errors import Forbidden, InvalidInput, NotFound
from smshub.messaging import service as messaging
from smshub.models import Connector

Hook = Literal["inbound", "status"]


async def _verified(
    session: AsyncSession,
    connector_id: str,
    url: str,
    path: str,
    params: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
) -> tuple[Connector, HttpCarrier]:
    connector = await session.get(Connector, connector_id)
    if connector is None or connector.kind != "http" or not connector.enabled:
        raise NotFound("No such HTTP connector.", field="connector_id")
    carrier = registry.carrier(connector.id, connector.config)
    public = connector.config.get("public_url")
    signed_url = str(public).rstrip("/") + path if public else url
    if not carrier.check_signature(signed_url, params, headers):
        raise Forbidden("The request signature is not valid.", code="bad_signature")
    return connector, carrier


async def handle_webhook(
    session: AsyncSession,
    hook: Hook,
    connector_id: str,
    *,
    url: str,
    path: str,
    params: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
) -> None:
    """Check the signature, then store the inbound message or apply the status."""
    connector, carrier = await _verified(session, connector_id, url, path, params, headers)
    values = dict(params)
    try:
        if hook == "inbound":
            sms = carrier.parse_inbound(values)
            await messaging.receive_message(
                session,
                from_e164=sms.from_e164,
                to_e164=sms.to_e164,
                body=sms.body,
                connector_id=connector.id,
                carrier_ref=sms.carrier_ref,
                tenant_scope=connector.tenant_id,
            )
            metrics.INBOUND.labels(connector.id).inc()
            return
        report = carrier.parse_status(values)
    except WebhookInputError as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    metrics.RECEIPTS.labels(connector.id).inc()
    if report.outcome != "pending":
        receipt = messaging.Receipt(report.carrier_ref, report.outcome, report.error)
        await messaging.apply_delivery_reports(session, connector.id, [receipt])
