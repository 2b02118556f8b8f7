"""The asyncio ESME client: one bind to one SMSC (SMPP 3.4, K2).

It binds as a transceiver, keeps up to `window` submit_sm outstanding (matched to their
responses by sequence number), answers and sends enquire_link, reconnects with
exponential backoff, and unbinds cleanly on `stop()`.

Nothing queued is lost: a request waits in `_queue` until it is answered. If the
connection drops, or the SMSC sends bytes that cannot be framed, the bind is reset and
every outstanding request goes back to the head of the queue, to be sent again after the
reconnect. ESME_RTHROTTLED and ESME_RMSGQFUL put the request back and pause sending for a
growing interval, so a throttling SMSC slows us down instead of failing messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from smshub.carriers import metrics
from smshub.carriers.smpp import pdu as p
from smshub.carriers.smpp.config import SmppConfig
from smshub.carriers.smpp.session import Session, State, bind_pdu, response_to
from smshub.kit.clock import Clock, SystemClock

log = logging.getLogger("smshub.smpp")

# An SMSC-originated deliver_sm / data_sm: the handler returns the command_status to answer.
Handler = Callable[[p.Pdu], Awaitable[int]]
BindLock = Callable[[], Awaitable[bool]]


@dataclass(eq=False)
class Request:
    pdu: p.Pdu  # sequence is assigned when sent
    future: asyncio.Future[p.Pdu] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    throttled: int = 0


class LinkDown(Exception):
    pass


class SmppLink:
    def __init__(
        self,
        name: str,
        config: SmppConfig,
        on_deliver: Handler,
        *,
        clock: Clock | None = None,
        bind_lock: BindLock | None = None,
        bind_as: str = "transceiver",  # or "transmitter" / "receiver" (one of a pair)
    ):
        self.bind_as = bind_as
        self.name = name
        self.config = config
        self.on_deliver = on_deliver
        self.clock = clock or SystemClock()
        self.bind_lock = bind_lock
        self.session: Session[Request] = Session(
            window=config.window,
            enquire_link_s=config.enquire_link_s,
            response_timeout_s=config.response_timeout_s,
        )
        self.last_error: str | None = None
        self.errors: deque[tuple[datetime, str]] = deque(maxlen=20)
        self.standby = False  # another process holds the bind
        self.binds = 0
        self._queue: deque[Request] = deque()
        self._wake = asyncio.Event()
        self._bound = asyncio.Event()
        self._tried = asyncio.Event()  # the first connection attempt has ended
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._paused_until = 0.0
        self._handlers: set[asyncio.Task[None]] = set()

    # -- public -------------------------------------------------------------------------
    @property
    def bound(self) -> bool:
        return self.session.state is State.BOUND

    @property
    def queue_depth(self) -> int:
        return len(self._queue) + self.session.in_flight

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"smpp:{self.name}")

    async def wait_first_attempt(self, wait_s: float) -> None:
        """A fresh link: give its first bind a chance before calling it down."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tried.wait(), wait_s)

    async def wait_bound(self, wait_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._bound.wait(), wait_s)
        return self.bound

    def request(self, pdu: p.Pdu) -> Request:
        """Queue a request; its future gets the response (any command_status)."""
        req = Request(pdu)
        self._queue.append(req)
        self._wake.set()
        return req

    def cancel(self, req: Request) -> bool:
        """Forget a request that is still queued (not on the wire)."""
        try:
            self._queue.remove(req)
        except ValueError:
            return False
        return True

    async def stop(self, grace_s: float = 2.0) -> None:
        """Unbind cleanly (§4.2), then close. Queued requests stay with their callers."""
        self._stopping = True
        writer = self._writer
        if writer is not None and self.bound:
            self.session.state = State.UNBINDING
            with contextlib.suppress(Exception):
                req = Request(p.make("unbind", self.session.next_sequence()))
                self.session.sent(req.pdu.sequence, req, self.clock.now())
                writer.write(p.encode(req.pdu))
                await asyncio.wait_for(req.future, grace_s)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for task in list(self._handlers):
            task.cancel()

    # -- the connection loop ------------------------------------------------------------
    async def _run(self) -> None:
        delay = self.config.reconnect_min_s
        while not self._stopping:
            if self.bind_lock is not None and not await self.bind_lock():
                self.standby = True
                self._tried.set()
                await asyncio.sleep(self.config.reconnect_max_s / 4)
                continue
            self.standby = False
            try:
                await self._connect_and_serve()
                delay = self.config.reconnect_min_s
            except (OSError, LinkDown, p.DecodeError, TimeoutError) as exc:
                self._error(f"{type(exc).__name__}: {exc}")
            finally:
                self._drop()
                self._tried.set()
            if self._stopping:
                return
            await asyncio.sleep(delay * (0.75 + random.random() / 2))
            delay = min(delay * 2, self.config.reconnect_max_s)

    async def _connect_and_serve(self) -> None:
        cfg = self.config
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(cfg.host, cfg.port), cfg.response_timeout_s
        )
        self._writer = writer
        self.session.state = State.OPEN
        seq = self.session.next_sequence()
        writer.write(
            p.encode(bind_pdu(self.bind_as, seq, cfg.system_id, cfg.password, cfg.system_type))
        )
        resp = await asyncio.wait_for(_read_pdu(reader), cfg.response_timeout_s)
        expected = f"bind_{self.bind_as}_resp"
        if resp.name != expected or resp.sequence != seq:
            raise LinkDown(f"expected {expected}, got {resp.name}")
        if resp.status != p.ESME_ROK:
            raise LinkDown(f"bind refused: status 0x{resp.status:02x}")
        self.session.state = State.BOUND
        self.session.received(self.clock.now())
        self.binds += 1
        self._bound.set()
        self._tried.set()
        log.info("smpp %s bound to %s:%s", self.name, cfg.host, cfg.port)
        tasks = [
            asyncio.create_task(self._read_loop(reader)),
            asyncio.create_task(self._send_loop(writer)),
            asyncio.create_task(self._tick_loop(writer)),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise what ended the bind
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _drop(self) -> None:
        """Close the socket and put every unanswered request back at the head."""
        self._bound.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for req in reversed(self.session.reset()):
            if not req.future.done() and req.pdu.command_id == p.SUBMIT_SM:
                self._queue.appendleft(req)

    def _error(self, message: str) -> None:
        self.last_error = message
        self.errors.append((self.clock.now(), message))
        log.warning("smpp %s: %s; resetting the bind", self.name, message)

    # -- the three loops of a bound connection -------------------------------------------
    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                pdu = await _read_pdu(reader)
            except p.UnknownCommand as exc:
                self._error(str(exc))
                self._send(p.Pdu(p.GENERIC_NACK, exc.sequence, p.ESME_RINVCMDID))
                continue
            self.session.received(self.clock.now())
            if pdu.is_resp:
                self._on_resp(pdu)
            elif pdu.command_id in (p.DELIVER_SM, p.DATA_SM):
                task = asyncio.create_task(self._deliver(pdu))
                self._handlers.add(task)
                task.add_done_callback(self._handlers.discard)
            elif pdu.command_id == p.ENQUIRE_LINK:
                self._send(response_to(pdu))
            elif pdu.command_id == p.UNBIND:
                self._send(response_to(pdu))
                raise LinkDown("the SMSC unbound")
            else:
                self._send(p.Pdu(p.GENERIC_NACK, pdu.sequence, p.ESME_RINVCMDID))

    def _on_resp(self, pdu: p.Pdu) -> None:
        req = self.session.resolve(pdu)
        if req is None:
            return
        if pdu.status in (p.ESME_RTHROTTLED, p.ESME_RMSGQFUL) and req.pdu.command_id == p.SUBMIT_SM:
            req.throttled += 1
            metrics.THROTTLES.labels(self.name).inc()
            pause = min(self.config.throttle_backoff_s * 2 ** min(req.throttled - 1, 6), 30.0)
            self._paused_until = max(self._paused_until, asyncio.get_running_loop().time() + pause)
            self._queue.appendleft(req)
            self._wake.set()
            return
        if not req.future.done():
            req.future.set_result(pdu)
        self._wake.set()

    async def _deliver(self, pdu: p.Pdu) -> None:
        try:
            status = await self.on_deliver(pdu)
        except Exception as exc:  # the SMSC will deliver it again
            log.exception("smpp %s: inbound handler failed", self.name)
            self._error(f"inbound handler: {exc}")
            status = p.ESME_RX_T_APPN
        self._send(response_to(pdu, status))

    async def _send_loop(self, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while True:
            wait = self._paused_until - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if not self._queue or not self.session.can_send():
                self._wake.clear()
                await self._wake.wait()
                continue
            while self._queue and self.session.can_send():
                req = self._queue.popleft()
                if req.future.done():
                    continue
                seq = self.session.next_sequence()
                req.pdu = p.Pdu(
                    req.pdu.command_id, seq, req.pdu.status, req.pdu.params, req.pdu.tlvs
                )
                self.session.sent(seq, req, self.clock.now())
                writer.write(p.encode(req.pdu))
            await writer.drain()

    async def _tick_loop(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.config.enquire_link_s / 2))
            now = self.clock.now()
            if self.session.dead(now):
                raise LinkDown("no answer to enquire_link")
            for req in self.session.timed_out(now):
                if req.pdu.command_id == p.SUBMIT_SM and not req.future.done():
                    self._queue.appendleft(req)  # unanswered: send it again
                    self._wake.set()
            if self.session.keepalive_due(now):
                seq = self.session.next_sequence()
                enquire = Request(p.make("enquire_link", seq))
                self.session.sent(seq, enquire, now)
                self.session.enquired(now)
                writer.write(p.encode(enquire.pdu))

    def _send(self, pdu: p.Pdu) -> None:
        if self._writer is not None:
            self._writer.write(p.encode(pdu))


async def _read_pdu(reader: asyncio.StreamReader) -> p.Pdu:
    try:
        head = await reader.readexactly(4)
        length = p.frame_length(head)
        rest = await reader.readexactly(length - 4)
    except asyncio.IncompleteReadError as exc:
        raise LinkDown("connection closed") from exc
    return p.decode(head + rest)
