"""Outbound mail through the configured SMTP relay (`SMSHUB_SMTP_RELAY`, host:port)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib


def host_port(value: str, default_port: int) -> tuple[str, int] | None:
    """ "host:port" (or "host") to a pair; None when empty or the port is 0 (disabled)."""
    value = value.strip()
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, default_port
    number = int(port)
    return (host or "127.0.0.1", number) if number else None


async def send_mail(
    relay: str, message: EmailMessage, local_hostname: str, timeout_s: float = 30.0
) -> None:
    """Raises on any failure, so the job that sends retries with backoff."""
    target = host_port(relay, 25)
    if target is None:
        raise RuntimeError("no SMTP relay is configured (SMSHUB_SMTP_RELAY)")
    host, port = target
    # An explicit EHLO name: the default looks up this host's FQDN on every connection.
    await aiosmtplib.send(
        message, hostname=host, port=port, timeout=timeout_s, local_hostname=local_hostname
    )
