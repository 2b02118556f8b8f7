"""The inbound SMTP listener (aiosmtpd): reply by email and Mail2SMS.

Recipients are checked at RCPT time, so a bad reply token is refused with a 550 before
any data is sent; the text is checked at DATA time. The listener owns its transactions
(one per mail). Any failure answers that one mail with a clear SMTP code and the listener
keeps serving: oversized mail gets aiosmtpd's 552, a client that drops mid-DATA only ends
its own connection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from smshub.config import Settings
from smshub.forwarding import signing
from smshub.kit.db import unit_of_work
from smshub.kit.errors import SmshubError
from smshub.mail import parse, render
from smshub.mail import service as mail_service
from smshub.mail.outbound import host_port
from smshub.numbers.rules import e164_problem

log = logging.getLogger("smshub.mail")


class MailHandler:
    """aiosmtpd handler hooks (`handle_RCPT`, `handle_DATA`)."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.domain = settings.mail_domain.lower()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        problem = self._recipient_problem(address.lower())
        if problem:
            return problem
        envelope.rcpt_tos.append(address.lower())
        return "250 OK"

    def _recipient_problem(self, address: str) -> str | None:
        local, _, host = address.rpartition("@")
        if host == self.domain:
            token = render.token_of_address(address, self.domain)
            if token is not None:
                if signing.conversation_of_token(self.settings.secret_key, token) is None:
                    return "550 5.1.1 Unknown or invalid reply address; no SMS was sent"
                return None
            if address == self.settings.mail_from.lower():
                return None  # a reply to the From address: the subject must carry the token
            return "550 5.1.1 No such mailbox here"
        if host.endswith("." + self.domain):
            if e164_problem(_e164(local)):
                return f"550 5.1.3 {local} is not a phone number in E.164 form (+15551234567)"
            return None
        return "550 5.7.1 Relaying denied"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            return await self._deliver(envelope)
        except Exception:  # never let one mail take the listener down
            log.exception("mail from %s failed", envelope.mail_from)
            return "451 4.3.0 Temporary failure; please try again later"

    async def _deliver(self, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="replace")
        mail = parse.parse_mail(raw or b"")
        if mail.text is None or not mail.text.strip():
            return "550 5.6.0 The mail has no text to send as SMS; no SMS was sent"
        replies, bulk = self._route(envelope.rcpt_tos, mail.subject)
        if not replies and not bulk:
            return "550 5.7.1 No valid reply token in the address or subject; no SMS was sent"
        sent, problems, campaigns = 0, [], []
        for token in replies:
            try:
                async with unit_of_work(self.sessions) as db:
                    out = await mail_service.reply_by_email(
                        db, self.settings.secret_key, token, mail.text
                    )
                sent += out.sent
            except SmshubError as exc:
                problems.append(exc.message)
        for slug, numbers in bulk.items():
            try:
                async with unit_of_work(self.sessions) as db:
                    out = await mail_service.mail_to_sms(
                        db,
                        tenant_slug=slug,
                        envelope_sender=envelope.mail_from or "",
                        header_sender=mail.from_addr,
                        recipients=numbers,
                        text=mail.text,
                    )
                sent += out.sent
                problems.extend(out.skipped)
                if out.campaign_id:
                    campaigns.append(out.campaign_id)
            except SmshubError as exc:
                problems.append(exc.message)
        if not sent:
            detail = " ".join(" ".join(problems).split())[:300] or "nothing to send"
            return f"550 5.7.1 No SMS was sent: {detail}"
        via = f" by campaign {', '.join(campaigns)}" if campaigns else ""
        skipped = f" ({len(problems)} skipped)" if problems else ""
        return f"250 OK: {sent} SMS queued{via}{skipped}"

    def _route(self, rcpts: list[str], subject: str) -> tuple[list[str], dict[str, list[str]]]:
        replies: list[str] = []
        bulk: dict[str, list[str]] = {}
        for address in rcpts:
            local, _, host = address.rpartition("@")
            token = render.token_of_address(address, self.domain)
            if token is not None:
                replies.append(token)
            elif host == self.domain:
                in_subject = parse.token_in_subject(subject)
                valid = in_subject and signing.conversation_of_token(
                    self.settings.secret_key, in_subject
                )
                if in_subject and valid:
                    replies.append(in_subject)
            else:
                bulk.setdefault(host[: -len(self.domain) - 1], []).append(_e164(local))
        return list(dict.fromkeys(replies)), bulk


def _e164(local: str) -> str:
    return local if local.startswith("+") else "+" + local


async def start_listener(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> asyncio.Server | None:
    """Listen on `SMSHUB_SMTP_LISTEN` (host:port); None when it is empty or port 0."""
    target = host_port(settings.smtp_listen, 2525)
    if target is None:
        return None
    handler = MailHandler(settings, sessions)
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        return SMTP(
            handler,
            hostname=settings.mail_domain,
            ident="smshub",
            data_size_limit=settings.mail_max_bytes,
            enable_SMTPUTF8=True,
            timeout=60,
        )

    server = await loop.create_server(protocol, *target)
    log.info("SMTP listener on %s:%s", *target)
    return server


async def run_smtp(settings: Settings) -> None:
    """`smshub serve --only smtp`: the listener alone, until SIGTERM or SIGINT."""
    import signal

    from smshub.kit.db import create_engine, session_factory

    engine = create_engine(settings.database_url)
    server = await start_listener(settings, session_factory(engine))
    if server is None:
        await engine.dispose()
        raise SystemExit("SMSHUB_SMTP_LISTEN is empty: nothing to serve")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await engine.dispose()
