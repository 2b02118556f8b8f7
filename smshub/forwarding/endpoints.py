"""REST: /numbers/{id}/forwarding, /numbers/{id}/callback-attempts, /webhooks and
/mail-senders (F1-F5). All admin-only."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from smshub.forwarding import schemas, service
from smshub.kit.deps import DB, CurrentActor, Cursor, Limit
from smshub.kit.pagination import Page

router = APIRouter(tags=["forwarding"])
AttemptKind = Annotated[
    Literal["callback", "email", "mobile"] | None, Query(description="Only this kind.")
]


def _domain(request: Request) -> str:
    return str(request.app.state.settings.mail_domain)


@router.get("/numbers/{number_id}/forwarding", response_model=schemas.ForwardingOut)
async def get_forwarding(
    request: Request, session: DB, actor: CurrentActor, number_id: str
) -> schemas.ForwardingOut:
    row = await service.get_forwarding(session, actor, number_id)
    return service.present_forwarding(row, number_id, _domain(request))


@router.put("/numbers/{number_id}/forwarding", response_model=schemas.ForwardingOut)
async def set_forwarding(
    request: Request, session: DB, actor: CurrentActor, number_id: str, data: schemas.Forwarding
) -> schemas.ForwardingOut:
    row = await service.set_forwarding(session, actor, number_id, data)
    return service.present_forwarding(row, number_id, _domain(request))


@router.get("/numbers/{number_id}/callback-attempts", response_model=Page[schemas.DeliveryAttempt])
async def list_attempts(
    session: DB,
    actor: CurrentActor,
    number_id: str,
    kind: AttemptKind = "callback",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[schemas.DeliveryAttempt]:
    return await service.list_attempts(
        session, actor, number_id, kind=kind, cursor=cursor, limit=limit
    )


@router.get("/webhooks", response_model=Page[schemas.Webhook])
async def list_webhooks(session: DB, actor: CurrentActor) -> Page[schemas.Webhook]:
    return Page(items=await service.list_webhooks(session, actor))


@router.post("/webhooks", response_model=schemas.WebhookCreated, status_code=201)
async def create_webhook(
    session: DB, actor: CurrentActor, data: schemas.WebhookCreate
) -> schemas.WebhookCreated:
    return await service.create_webhook(session, actor, data)


@router.get("/webhooks/{webhook_id}", response_model=schemas.Webhook)
async def get_webhook(session: DB, actor: CurrentActor, webhook_id: str) -> schemas.Webhook:
    row = await service.access_webhook_by_id(session, actor, webhook_id)
    return schemas.Webhook.model_validate(row)


@router.patch("/webhooks/{webhook_id}", response_model=schemas.Webhook)
async def update_webhook(
    session: DB, actor: CurrentActor, webhook_id: str, data: schemas.WebhookUpdate
) -> schemas.Webhook:
    row = await service.update_webhook(session, actor, webhook_id, data)
    return schemas.Webhook.model_validate(row)


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(session: DB, actor: CurrentActor, webhook_id: str) -> Response:
    await service.delete_webhook(session, actor, webhook_id)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[schemas.WebhookDelivery])
async def list_deliveries(
    session: DB, actor: CurrentActor, webhook_id: str, cursor: Cursor = None, limit: Limit = 50
) -> Page[schemas.WebhookDelivery]:
    return await service.list_deliveries(session, actor, webhook_id, cursor=cursor, limit=limit)


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/replay",
    response_model=schemas.WebhookDelivery,
    status_code=202,
)
async def replay_delivery(
    session: DB, actor: CurrentActor, webhook_id: str, delivery_id: str
) -> schemas.WebhookDelivery:
    row = await service.replay_delivery(session, actor, webhook_id, delivery_id)
    return schemas.WebhookDelivery.model_validate(row)


@router.get("/mail-senders", response_model=Page[schemas.MailSender])
async def list_mail_senders(session: DB, actor: CurrentActor) -> Page[schemas.MailSender]:
    return Page(items=await service.list_mail_senders(session, actor))


@router.post("/mail-senders", response_model=schemas.MailSender, status_code=201)
async def add_mail_sender(
    session: DB, actor: CurrentActor, data: schemas.MailSenderCreate
) -> schemas.MailSender:
    return schemas.MailSender.model_validate(await service.add_mail_sender(session, actor, data))


@router.delete("/mail-senders/{sender_id}", status_code=204)
async def remove_mail_sender(session: DB, actor: CurrentActor, sender_id: str) -> Response:
    await service.remove_mail_sender(session, actor, sender_id)
    return Response(status_code=204)
