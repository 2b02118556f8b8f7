"""Mail use cases: a reply by email becomes an SMS (F1), a mail to
`<E.164>@<tenant>.<mail domain>` from an allow-listed sender becomes SMS (F5).

The reply token is the only authority for a reply: the From header is never trusted.
Mail2SMS trusts the allow-list for the envelope sender, and the From header must agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth import service as auth_service
from smshub.campaigns import schemas as campaign_schemas
from smshub.campaigns import service as campaigns
from smshub.compliance import service as compliance
from smshub.forwarding import service as forwarding
from smshub.forwarding import signing
from smshub.kit.clock import Clock
from smshub.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, SmshubError
from smshub.numbers.schemas import NumberInfo

MAX_RECIPIENTS = 100  # RFC 5321's minimum a server must accept per mail
MAIL_RATE = 10  # messages per second of a Mail2SMS campaign, as POST /messages/bulk


@dataclass(frozen=True)
class Outcome:
    sent: int  # SMS queued (for a campaign: recipients it will send to)
    skipped: tuple[str, ...] = ()  # recipients left out, with the reason
    campaign_id: str | None = None  # a mail to several numbers runs as a campaign


async def reply_by_email(
    session: AsyncSession, secret: str, token: str, text: str, clock: Clock | None = None
) -> Outcome:
    """Send a reply's text to the remote party of the token's conversation."""
    conversation_id = signing.conversation_of_token(secret, token)
    if conversation_id is None:
        raise Forbidden("Unknown or forged reply token.", code="bad_token")
    found = await forwarding.conversation_number(session, conversation_id)
    if found is None:
        raise NotFound("The conversation's number no longer exists.", code="gone")
    number, remote = found
    ids = await forwarding.send_text_from_number(session, number, remote, text, clock)
    return Outcome(len(ids))


async def mail_to_sms(
    session: AsyncSession,
    *,
    tenant_slug: str,
    envelope_sender: str,
    header_sender: str,
    recipients: Sequence[str],
    text: str,
    clock: Clock | None = None,
) -> Outcome:
    """One recipient: a direct SMS (split if long). Several: a campaign, exactly as
    `POST /messages/bulk` makes one (pacing, blocklist at preview and at send time,
    exactly-once), from the sender's number in its tenant."""
    sender = envelope_sender.lower()
    if header_sender and header_sender.lower() != sender:
        raise Forbidden("The From header does not match the envelope sender.", code="sender")
    number = await forwarding.mail_sender_number(session, tenant_slug, sender)
    if number is None:
        raise Forbidden(f"{sender} may not send SMS by mail.", code="not_allowed")
    wanted = list(dict.fromkeys(recipients))
    if len(wanted) > MAX_RECIPIENTS:
        raise InvalidInput(
            f"at most {MAX_RECIPIENTS} recipients per mail.", field="to", code="too_many"
        )
    if len(wanted) > 1:
        return await _mail_campaign(session, number, sender, wanted, text, clock)
    try:
        ids = await forwarding.send_text_from_number(session, number, wanted[0], text, clock)
    except (Conflict, InvalidInput) as exc:
        raise SmshubError(f"No SMS sent: {wanted[0]}: {exc.message}", code="nothing_sent")
    return Outcome(len(ids))


async def _mail_campaign(
    session: AsyncSession,
    number: NumberInfo,
    sender: str,
    recipients: list[str],
    text: str,
    clock: Clock | None,
) -> Outcome:
    tenant = await auth_service.tenant_policy(session, number.tenant_id)
    if not tenant.sms_enabled:
        raise Forbidden("SMS is disabled for this company.", code="sms_disabled")
    actor = await forwarding.tenant_admin_actor(session, number.tenant_id)
    if actor is None:
        raise Forbidden("The company has no admin to run a campaign as.", code="no_admin")
    blocked = await compliance.blocklisted_among(session, number.tenant_id, recipients)
    skipped = tuple(f"{to}: {to} has opted out." for to in recipients if to in blocked)
    if len(skipped) == len(recipients):
        raise SmshubError("No SMS sent: " + "; ".join(skipped), code="nothing_sent")
    try:
        data = campaign_schemas.BulkSend.model_validate(
            {
                "from": number.e164,
                "to": recipients,
                # The mail's text is literal: braces are not campaign placeholders.
                "body": text.replace("{", "{{").replace("}", "}}"),
                "rate": MAIL_RATE,
                "name": f"Mail2SMS from {sender}"[:200],
            }
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise InvalidInput(f"{where}: {problem['msg']}", field=where) from exc
    campaign = await campaigns.send_bulk(session, actor, data, clock)
    return Outcome(len(recipients) - len(skipped), skipped, campaign.id)
