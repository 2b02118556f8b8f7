"""The process's SMPP binds: one `SmppLink` per connector, and what arrives on them.

`install(sessions)` is called where a process runs send jobs (the worker); the links
are created when a connector is first used, or at `start_all`. On PostgreSQL a bind is
only opened by the process that holds the connector's advisory lock, so several worker
processes still present one bind to the carrier.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from smshub.carriers import metrics
from smshub.carriers.smpp import parts
from smshub.carriers.smpp import pdu as p
from smshub.carriers.smpp.config import SmppConfig
from smshub.carriers.smpp.link import SmppLink
from smshub.carriers.smpp.reassembly import Complete
from smshub.carriers.smpp.receipt import parse_receipt, ref_candidates
from smshub.carriers.smpp.text import decode_part
from smshub.kit.clock import Clock, SystemClock
from smshub.kit.db import unit_of_work
from smshub.messaging import service as messaging
from smshub.models import Connector

log = logging.getLogger("smshub.smpp")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# How often inbound traffic also looks for long messages whose parts stopped coming.
EXPIRE_EVERY = timedelta(seconds=10)


def to_e164(addr: str) -> str:
    addr = addr.strip()
    return addr if addr.startswith("+") or not addr.isdigit() else f"+{addr}"


class _AdvisoryLock:
    """pg_try_advisory_lock on a connection kept open while the bind lives."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], connector_id: str):
        self.sessions = sessions
        digest = hashlib.sha256(f"smpp-bind:{connector_id}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)
        self.conn: AsyncConnection | None = None
        self._taking = asyncio.Lock()  # the two halves of a pair ask at the same time

    async def __call__(self) -> bool:
        async with self._taking:
            return await self._take()

    async def _take(self) -> bool:
        if self.conn is not None:
            return True
        engine = self.sessions.kw["bind"]
        conn = await engine.connect()
        got = (
            await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
        ).scalar()
        await conn.commit()  # the lock is the session's; no transaction stays open
        if got:
            self.conn = conn
            return True
        await conn.close()
        return False

    async def release(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                # The connection goes back to the pool, and the session with it: unlock.
                await self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                await self.conn.commit()
                await self.conn.close()
            self.conn = None


class Links:
    def __init__(self) -> None:
        self.sessions: async_sessionmaker[AsyncSession] | None = None
        self.clock: Clock = SystemClock()
        self.links: dict[str, SmppLink] = {}
        self.receivers: dict[str, SmppLink] = {}  # the receiver half of a "pair" bind
        self._configs: dict[str, dict[str, Any]] = {}
        self._locks: dict[str, _AdvisoryLock] = {}
        # One at a time per connector: a part's transaction must see the parts before it.
        self._part_locks: dict[str, asyncio.Lock] = {}
        self._expired_at: dict[str, datetime] = {}
        self._sweepers: dict[str, asyncio.Task[None]] = {}

    def install(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock | None = None
    ) -> None:
        self.sessions = sessions
        self.clock = clock or SystemClock()

    def link_for(
        self, connector_id: str, config: dict[str, Any], tenant_id: str | None = None
    ) -> SmppLink:
        link = self.links.get(connector_id)
        if link is not None and self._configs.get(connector_id) == config:
            return link
        if link is not None:  # reconfigured: the old bind goes
            asyncio.get_running_loop().create_task(link.stop())
        lock = None
        if self.sessions is not None and self.sessions.kw["bind"].dialect.name == "postgresql":
            lock = self._locks.setdefault(connector_id, _AdvisoryLock(self.sessions, connector_id))

        async def on_deliver(pdu: p.Pdu) -> int:
            return await self.on_deliver(connector_id, pdu, tenant_id)

        cfg = SmppConfig.model_validate(config)
        pair = cfg.bind == "pair"
        old_rx = self.receivers.pop(connector_id, None)
        if old_rx is not None:
            asyncio.get_running_loop().create_task(old_rx.stop())
        if pair:
            rx = SmppLink(
                f"{connector_id}:rx",
                cfg,
                on_deliver,
                clock=self.clock,
                bind_lock=lock,
                bind_as="receiver",
            )
            self.receivers[connector_id] = rx
            rx.start()
        link = SmppLink(
            connector_id,
            cfg,
            on_deliver,
            clock=self.clock,
            bind_lock=lock,
            bind_as="transmitter" if pair else "transceiver",
        )
        self.links[connector_id] = link
        self._configs[connector_id] = dict(config)
        sweeper = self._sweepers.get(connector_id)
        if (sweeper is None or sweeper.done()) and self.sessions is not None:
            self._sweepers[connector_id] = asyncio.get_running_loop().create_task(
                self._sweep_loop(connector_id, tenant_id), name=f"smpp-parts {connector_id}"
            )
        return link

    async def _sweep_loop(self, connector_id: str, tenant_id: str | None) -> None:
        """Deliver long messages whose parts stopped coming even when no other inbound
        traffic arrives to trigger it."""
        while True:
            await asyncio.sleep(EXPIRE_EVERY.total_seconds())
            try:
                await self.sweep(connector_id, tenant_id)
            except Exception:  # the database may be restarting: try at the next round
                log.exception("sweeping SMPP parts of %s failed", connector_id)

    async def sweep(self, connector_id: str, tenant_id: str | None = None) -> None:
        if self.sessions is None:
            return
        now = self.clock.now()
        async with self._part_lock(connector_id), unit_of_work(self.sessions) as session:
            ready = await self._expire(session, connector_id, now)
            await self._receive(session, connector_id, ready, tenant_id)

    def _part_lock(self, connector_id: str) -> asyncio.Lock:
        return self._part_locks.setdefault(connector_id, asyncio.Lock())

    def _expiry_due(self, connector_id: str, now: datetime) -> bool:
        return now - self._expired_at.get(connector_id, EPOCH) >= EXPIRE_EVERY

    async def _expire(
        self, session: AsyncSession, connector_id: str, now: datetime
    ) -> list[Complete]:
        """Messages whose other parts never came, as far as they got."""
        self._expired_at[connector_id] = now
        return await parts.expire(session, connector_id, now)

    async def start_all(self) -> None:
        """Bind every enabled SMPP connector now, so inbound flows before any send."""
        if self.sessions is None:
            return
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Connector).where(Connector.kind == "smpp", Connector.enabled.is_(True))
                )
            ).scalars()
            for row in rows:
                self.link_for(row.id, row.config, row.tenant_id).start()

    async def close_all(self) -> None:
        sweepers = list(self._sweepers.values())
        self._sweepers.clear()
        for task in sweepers:
            task.cancel()
        await asyncio.gather(*sweepers, return_exceptions=True)
        links = [*self.links.values(), *self.receivers.values()]
        self.links, self.receivers = {}, {}
        await asyncio.gather(*(link.stop() for link in links), return_exceptions=True)
        for lock in self._locks.values():
            await lock.release()
        self._locks.clear()

    async def on_deliver(self, connector_id: str, pdu: p.Pdu, tenant_id: str | None = None) -> int:
        """A deliver_sm or data_sm: a delivery receipt, or (part of) an inbound message."""
        if self.sessions is None:
            return p.ESME_RX_T_APPN
        esm = pdu.num("esm_class")
        body = pdu.raw("short_message") or pdu.tlv(p.TAG_MESSAGE_PAYLOAD) or b""
        receipted = pdu.tlv(p.TAG_RECEIPTED_MESSAGE_ID)
        if esm & p.ESM_TYPE_MASK == p.ESM_DELIVERY_RECEIPT or receipted:
            await self._receipt(
                connector_id, body.decode("latin-1"), receipted, pdu.tlv(p.TAG_MESSAGE_STATE)
            )
            return p.ESME_ROK
        part = decode_part(body, pdu.num("data_coding"), bool(esm & p.ESM_UDHI))
        ref, total, seq = part.ref, part.total, part.seq
        sar = (
            pdu.tlv(p.TAG_SAR_MSG_REF_NUM),
            pdu.tlv(p.TAG_SAR_TOTAL_SEGMENTS),
            pdu.tlv(p.TAG_SAR_SEGMENT_SEQNUM),
        )
        if all(sar) and ref is None:
            ref, total, seq = (int.from_bytes(v or b"", "big") for v in sar)
        source, dest = to_e164(pdu.text("source_addr")), to_e164(pdu.text("destination_addr"))
        now = self.clock.now()
        if total <= 1 and not self._expiry_due(connector_id, now):
            # A whole message consults no stored parts: no need to queue for their lock.
            async with unit_of_work(self.sessions) as session:
                whole = Complete(source, dest, part.text, 1)
                await self._receive(session, connector_id, [whole], tenant_id)
            return p.ESME_ROK
        async with self._part_lock(connector_id), unit_of_work(self.sessions) as session:
            ready: list[Complete] = []
            if self._expiry_due(connector_id, now):  # again: the lock may have waited
                ready += await self._expire(session, connector_id, now)
            if total <= 1:
                ready.append(Complete(source, dest, part.text, 1))
            else:
                done = await parts.add_part(
                    session, connector_id, source, dest, ref or 0, total, seq, part.text, now
                )
                ready += [done] if done is not None else []
            await self._receive(session, connector_id, ready, tenant_id)
        return p.ESME_ROK

    async def _receive(
        self,
        session: AsyncSession,
        connector_id: str,
        messages: list[Complete],
        tenant_id: str | None,
    ) -> None:
        for message in messages:
            metrics.INBOUND.labels(connector_id).inc()
            await messaging.receive_message(
                session,
                from_e164=message.source,
                to_e164=message.destination,
                body=message.text,
                connector_id=connector_id,
                tenant_scope=tenant_id,
            )

    async def _receipt(
        self, connector_id: str, text_: str, receipted: bytes | None, state: bytes | None
    ) -> None:
        receipt = parse_receipt(text_, receipted, state)
        if receipt is None or receipt.outcome == "pending" or self.sessions is None:
            return
        metrics.RECEIPTS.labels(connector_id).inc()
        error = (
            None if receipt.outcome == "delivered" else f"carrier: {receipt.stat} err:{receipt.err}"
        )
        async with unit_of_work(self.sessions) as session:
            exact = messaging.Receipt(receipt.message_id, receipt.outcome, error)
            if await messaging.apply_delivery_reports(session, connector_id, [exact]):
                return
            # Not under the id as given: the carrier may write it in hex here and in
            # decimal there. Try each other spelling; the first match wins.
            for ref in ref_candidates(receipt.message_id)[1:]:
                if await messaging.apply_delivery_reports(
                    session, connector_id, [messaging.Receipt(ref, receipt.outcome, error)]
                ):
                    return


links = Links()
