"""SMS to email (pure): the subject, body and reply address of a forwarded SMS.

Everything that goes into a header passes `_one_line`, so a message text or a name can
never add a header (CR/LF injection)."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

REPLY_PREFIX = "reply+"
FOOTER = (
    "\n\n-- \nReply to this email to answer by SMS: only your new text is sent; "
    "quoted history and signatures are removed."
)


def _one_line(value: str, limit: int = 200) -> str:
    return " ".join(value.split())[:limit]


def reply_address(token: str, domain: str) -> str:
    return f"{REPLY_PREFIX}{token}@{domain}"


def token_of_address(address: str, domain: str) -> str | None:
    """The token of a reply address of our domain, or None when it is not one."""
    local, _, host = address.strip().lower().rpartition("@")
    if host != domain.lower() or not local.startswith(REPLY_PREFIX):
        return None
    return local[len(REPLY_PREFIX) :] or None


def subject(sender: str, number: str, token: str) -> str:
    return _one_line(f"SMS from {sender} to {number} [#{token}]")


def forward_email(
    *,
    sender: str,
    number: str,
    text: str,
    at: datetime,
    token: str,
    mail_from: str,
    to: list[str],
    domain: str,
) -> EmailMessage:
    """The email that carries one inbound SMS; replying to it answers by SMS."""
    msg = EmailMessage()
    msg["Subject"] = subject(sender, number, token)
    msg["From"] = _one_line(mail_from, 320)
    msg["To"] = ", ".join(_one_line(a, 320) for a in to)
    msg["Reply-To"] = reply_address(token, domain)
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["X-Smshub-From"] = _one_line(sender, 32)
    body = f"From: {sender}\nTo: {number}\nAt: {at.isoformat(timespec='seconds')}\n\n{text}"
    msg.set_content(body + FOOTER)
    return msg
