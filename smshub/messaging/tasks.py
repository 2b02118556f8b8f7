"""The send job (`message.send`): hand queued messages to their numbers' carriers.

Send jobs run in batches: one transaction loads the batch's messages, submits them per
connector and records `sending` and `sent`, so a busy queue costs a few statements per
batch rather than per message.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.campaigns import service as campaigns_service
from smshub.carriers import service as carriers_service
from smshub.carriers.base import CarrierConfigError, OutboundSms, PermanentCarrierError
from smshub.carriers.schemas import ConnectorInfo
from smshub.kit.jobs import JobContext, JobRegistry
from smshub.messaging import repository as repo
from smshub.messaging import service
from smshub.models import Message
from smshub.numbers import service as numbers_service

BATCH = 200


async def dispatch_messages(session: AsyncSession, jobs: list[JobContext]) -> None:
    """Idempotent: a message already past `sending` is left alone, so a re-run after a
    crash never submits twice once the first submit committed. A transient carrier
    error on one message queues that message again with backoff, without undoing the
    others' submits."""
    tries = {str(j.payload.get("message_id")): int(j.payload.get("try", 0)) for j in jobs}
    messages = await repo.messages_by_ids(session, list(tries))
    held = await campaigns_service.hold_opted_out(session, messages)
    routed: dict[str, tuple[ConnectorInfo, list[Message]]] = {}
    for message in messages:
        if message.status not in ("queued", "sending") or message.id in held:
            continue
        connector = await _route(session, message)
        if connector is not None:
            routed.setdefault(connector.id, (connector, []))[1].append(message)
    for connector, batch in routed.values():
        await _submit(session, connector, batch, tries)


async def _route(session: AsyncSession, message: Message) -> ConnectorInfo | None:
    number = await numbers_service.number_info(session, message.from_e164)
    if number is None or number.tenant_id != message.tenant_id:
        await service.mark_failed(session, message, f"{message.from_e164} was removed")
        return None
    try:
        return await carriers_service.connector_for(session, number)
    except CarrierConfigError as exc:
        await service.mark_failed(session, message, str(exc))
        return None


async def _submit(
    session: AsyncSession,
    connector: ConnectorInfo,
    batch: Sequence[Message],
    tries: dict[str, int],
) -> None:
    carrier = carriers_service.carrier_for(connector)
    for message in batch:
        await service.mark_sending(session, message)
    sms = [
        OutboundSms(m.id, m.tenant_id, m.from_e164, m.to_e164, m.body, m.segments) for m in batch
    ]
    results = await carrier.submit_many(session, sms)
    for message, result in zip(batch, results, strict=True):
        if isinstance(result, PermanentCarrierError):
            await service.mark_failed(session, message, str(result))
        elif isinstance(result, Exception):
            await service.retry_later(session, message, tries.get(message.id, 0) + 1, result)
        else:
            await service.mark_sent(session, message, connector.id, result.carrier_ref)


def register(registry: JobRegistry) -> None:
    registry.register_batch(service.SEND_JOB, dispatch_messages, max_batch=BATCH)
