"""Real peers on loopback for forwarding tests: an SMTP sink (aiosmtpd in a thread) and
a small scripted HTTP receiver (http.server in a thread)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.live import free_port

Mail = tuple[str, list[str], EmailMessage]


class _Sink:
    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.times: list[float] = []  # time.monotonic() of each arrival

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        self.times.append(time.monotonic())
        return "250 OK"


@dataclass
class SmtpSink:
    host: str
    port: int
    handler: _Sink

    @property
    def relay(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def mails(self) -> list[Mail]:
        return self.handler.mails

    def wait_for(self, count: int, timeout: float = 10) -> list[Mail]:
        deadline = time.monotonic() + timeout
        while len(self.mails) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.mails


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    handler = _Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink("127.0.0.1", port, handler)
    finally:
        controller.stop()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class HttpReceiver:
    """Answers with `replies` in turn (the last one repeats); records every request."""

    url: str
    replies: list[tuple[int, str]]
    requests: list[Request] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 10) -> list[Request]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests


@contextmanager
def http_receiver(replies: list[tuple[int, str]]) -> Iterator[HttpReceiver]:
    port = free_port()
    receiver = HttpReceiver(f"http://127.0.0.1:{port}", list(replies))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                n = len(receiver.requests)
                receiver.requests.append(
                    Request(self.command, self.path, dict(self.headers), body, time.monotonic())
                )
                status, text = receiver.replies[min(n, len(receiver.replies) - 1)]
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
