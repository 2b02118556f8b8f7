"""Mail use cases: a reply by email becomes an SMS (F1), a mail to
`<E.164>@<tenant>.<mail domain>` from an allow-listed sender becomes SMS (F5).

The reply token is the only authority for a reply: the From header is never trusted.
Mail2SMS trusts the allow-list for the envelope sender, and the From header must agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.forwarding import service as forwarding
from smshub.forwarding import signing
from smshub.kit.clock import Clock
from smshub.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, SmshubError

MAX_RECIPIENTS = 20


@dataclass(frozen=True)
class Outcome:
    sent: int  # SMS queued
    skipped: tuple[str, ...] = ()  # recipients left out, with the reason


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
    """A small bulk send: one SMS (or a split series) per recipient, capped, skipping
    blocklisted and invalid recipients."""
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
    sent, skipped = 0, []
    for to in wanted:
        try:
            async with session.begin_nested():
                sent += len(
                    await forwarding.send_text_from_number(session, number, to, text, clock)
                )
        except (Conflict, InvalidInput) as exc:
            skipped.append(f"{to}: {exc.message}")
    if not sent and skipped:
        raise SmshubError("No SMS sent: " + "; ".join(skipped), code="nothing_sent")
    return Outcome(sent, tuple(skipped))
