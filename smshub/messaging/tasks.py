"""The send job (`message.send`): hand a queued message to its number's carrier."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers import service as carriers_service
from smshub.carriers.base import (
    CarrierConfigError,
    OutboundSms,
    PermanentCarrierError,
    TransientCarrierError,
)
from smshub.kit.jobs import JobContext, JobRegistry
from smshub.messaging import service
from smshub.models import Message
from smshub.numbers import service as numbers_service


async def dispatch_message(session: AsyncSession, job: JobContext) -> None:
    """Idempotent: a message already past `sending` is left alone, so a re-run after a
    crash never submits twice once the first submit committed."""
    message = await session.get(Message, job.payload["message_id"])
    if message is None or message.status not in ("queued", "sending"):
        return
    number = await numbers_service.find_live_number(session, message.from_e164)
    if number is None or number.tenant_id != message.tenant_id:
        await service.mark_failed(session, message, f"{message.from_e164} was removed")
        return
    try:
        connector = await carriers_service.connector_for(session, number)
        carrier = carriers_service.carrier_for(connector)
    except CarrierConfigError as exc:
        await service.mark_failed(session, message, str(exc))
        return
    await service.mark_sending(session, message)
    sms = OutboundSms(
        message.id,
        message.tenant_id,
        message.from_e164,
        message.to_e164,
        message.body,
        message.segments,
    )
    try:
        result = await carrier.submit(session, sms)
    except PermanentCarrierError as exc:
        await service.mark_failed(session, message, str(exc))
        return
    except TransientCarrierError as exc:
        if job.is_last_attempt:
            await service.mark_failed(session, message, f"gave up after retries: {exc}")
            return
        raise
    await service.mark_sent(session, message, connector.id, result.carrier_ref)


def register(registry: JobRegistry) -> None:
    registry.register(service.SEND_JOB, dispatch_message)
