"""Forwarding pages: a number's forwarding settings with its attempt log, and webhook
subscriptions with their delivery log and replay button (F1-F5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import service as auth_service
from smshub.auth.actor import Actor
from smshub.forwarding import schemas
from smshub.forwarding import service as forwarding
from smshub.kit.deps import DB
from smshub.kit.errors import SmshubError
from smshub.numbers import service as numbers_service
from smshub.web.deps import AdminActor, WebRoute
from smshub.web.forms import checked, read_form, service_error, text, validation_errors
from smshub.web.render import pretty, redirect, render

router = APIRouter(route_class=WebRoute)
LABELS = {
    "emails": "Email addresses",
    "mobile": "Forward to mobile",
    "url_callback": "URL callback",
    "url_callback.template": "Callback URL",
    "url_callback.retry_interval_s": "Retry every (seconds)",
    "url_callback.max_attempts": "Attempts at most",
    "active": "Forwards on",
    "url": "URL",
    "events": "Events",
}
RENAME = {
    **{f"emails.{i}": "emails" for i in range(10)},
    "url_callback.template": "template",
    "url_callback.retry_interval_s": "retry_interval_s",
    "url_callback.max_attempts": "max_attempts",
}
LABELS.update({"template": "Callback URL", "retry_interval_s": "Retry every (seconds)"})
LABELS["max_attempts"] = "Attempts at most"
FIELDS = {"emails": "emails", "mobile": "mobile", "url_callback": "template", "url": "url"}
KINDS = ("email", "mobile", "url_callback")


async def _page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    number_id: str,
    values: dict[str, Any],
    errors: dict[str, str],
) -> Response:
    number = await numbers_service.access_number_by_id(session, actor, number_id)
    attempts = await forwarding.list_attempts(
        session, actor, number.id, kind=None, cursor=None, limit=50
    )
    senders = [
        x for x in await forwarding.list_mail_senders(session, actor) if x.number_id == number.id
    ]
    tenant = await auth_service.tenant_policy(session, actor.tenant_id)
    context = {
        "number": number,
        "values": values,
        "errors": errors,
        "attempts": attempts.items,
        "domain": request.app.state.settings.mail_domain,
        "senders": senders,
        "mail2sms_domain": f"{tenant.slug}.{request.app.state.settings.mail_domain}",
    }
    status = 422 if errors else 200
    return render(
        request, "forwarding/number.html", context, actor=actor, nav="numbers", status_code=status
    )


def _values_of(out: schemas.ForwardingOut) -> dict[str, Any]:
    cb = out.url_callback
    return {
        "emails": ", ".join(out.emails),
        "mobile": out.mobile or "",
        "template": cb.template if cb else "",
        "retry": cb.retry if cb else True,
        "retry_interval_s": str(cb.retry_interval_s if cb else 1800),
        "max_attempts": str(cb.max_attempts if cb else 48),
        "active": list(out.active),
    }


@router.get("/numbers/{number_id}/forwarding")
async def forwarding_page(
    request: Request, session: DB, actor: AdminActor, number_id: str
) -> Response:
    row = await forwarding.get_forwarding(session, actor, number_id)
    out = forwarding.present_forwarding(row, number_id, request.app.state.settings.mail_domain)
    return await _page(request, session, actor, number_id, _values_of(out), {})


@router.post("/numbers/{number_id}/forwarding")
async def forwarding_save(
    request: Request, session: DB, actor: AdminActor, number_id: str
) -> Response:
    form = await read_form(request)
    values: dict[str, Any] = {
        "emails": text(form, "emails"),
        "mobile": text(form, "mobile"),
        "template": text(form, "template"),
        "retry": checked(form, "retry"),
        "retry_interval_s": text(form, "retry_interval_s") or "1800",
        "max_attempts": text(form, "max_attempts") or "48",
        "active": [k for k in KINDS if checked(form, f"on_{k}")],
    }
    payload: dict[str, Any] = {
        "emails": [e for e in values["emails"].replace(",", " ").split() if e],
        "mobile": values["mobile"] or None,
        "active": values["active"],
    }
    if values["template"]:
        payload["url_callback"] = {
            "template": values["template"],
            "retry": values["retry"],
            "retry_interval_s": values["retry_interval_s"],
            "max_attempts": values["max_attempts"],
        }
    try:
        data = schemas.Forwarding.model_validate(payload)
        number = await forwarding.set_forwarding(session, actor, number_id, data)
    except ValidationError as exc:
        errors = validation_errors(exc, LABELS, RENAME)
    except SmshubError as exc:
        await session.rollback()
        errors = service_error(exc, FIELDS)
    else:
        live = await numbers_service.access_number_by_id(session, actor, number.number_id)
        return redirect(
            request,
            f"/numbers/{number_id}/forwarding",
            flash=f"Forwarding of {pretty(live.e164)} saved.",
        )
    return await _page(request, session, actor, number_id, values, errors)


@router.get("/webhooks")
async def webhooks_page(request: Request, session: DB, actor: AdminActor) -> Response:
    return await _webhooks(request, session, actor, {"url": "", "events": []}, {}, None)


async def _webhooks(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    values: dict[str, Any],
    errors: dict[str, str],
    created: schemas.WebhookCreated | None,
) -> Response:
    hooks = await forwarding.list_webhooks(session, actor)
    context = {
        "hooks": hooks,
        "values": values,
        "errors": errors,
        "created": created,
        "event_types": schemas.EVENT_TYPES,
    }
    status = 422 if errors else 200
    return render(
        request,
        "forwarding/webhooks.html",
        context,
        actor=actor,
        nav="webhooks",
        status_code=status,
    )


@router.post("/webhooks")
async def webhook_create(request: Request, session: DB, actor: AdminActor) -> Response:
    form = await read_form(request)
    values = {"url": text(form, "url"), "events": form.getlist("events")}
    try:
        data = schemas.WebhookCreate.model_validate(values)
        created = await forwarding.create_webhook(session, actor, data)
    except ValidationError as exc:
        return await _webhooks(
            request, session, actor, values, validation_errors(exc, LABELS), None
        )
    # The secret is shown once, on this page, and never again.
    return await _webhooks(request, session, actor, {"url": "", "events": []}, {}, created)


@router.get("/webhooks/{webhook_id}")
async def webhook_page(
    request: Request, session: DB, actor: AdminActor, webhook_id: str
) -> Response:
    hook = await forwarding.access_webhook_by_id(session, actor, webhook_id)
    deliveries = await forwarding.list_deliveries(session, actor, hook.id, cursor=None, limit=100)
    context = {"hook": schemas.Webhook.model_validate(hook), "deliveries": deliveries.items}
    return render(request, "forwarding/webhook.html", context, actor=actor, nav="webhooks")


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/replay")
async def webhook_replay(
    request: Request, session: DB, actor: AdminActor, webhook_id: str, delivery_id: str
) -> Response:
    await forwarding.replay_delivery(session, actor, webhook_id, delivery_id)
    return redirect(request, f"/webhooks/{webhook_id}", flash="Delivery queued again.")


@router.post("/webhooks/{webhook_id}/delete")
async def webhook_delete(
    request: Request, session: DB, actor: AdminActor, webhook_id: str
) -> Response:
    await forwarding.delete_webhook(session, actor, webhook_id)
    return redirect(request, "/webhooks", flash="Webhook deleted.")


@router.post("/numbers/{number_id}/mail-senders")
async def mail_sender_add(
    request: Request, session: DB, actor: AdminActor, number_id: str
) -> Response:
    form = await read_form(request)
    target = f"/numbers/{number_id}/forwarding"
    try:
        data = schemas.MailSenderCreate.model_validate(
            {"email": text(form, "email"), "number_id": number_id}
        )
        await forwarding.add_mail_sender(session, actor, data)
    except ValidationError:
        return redirect(request, target, flash="Mail2SMS: that is not an email address.")
    except SmshubError as exc:
        await session.rollback()
        return redirect(request, target, flash=f"Mail2SMS: {exc.message}")
    return redirect(request, target, flash=f"{data.email} may now send SMS by mail.")


@router.post("/numbers/{number_id}/mail-senders/{sender_id}/delete")
async def mail_sender_remove(
    request: Request, session: DB, actor: AdminActor, number_id: str, sender_id: str
) -> Response:
    await forwarding.remove_mail_sender(session, actor, sender_id)
    return redirect(request, f"/numbers/{number_id}/forwarding", flash="Mail sender removed.")
