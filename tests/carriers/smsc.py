"""A small SMSC on loopback for tests and benchmarks, independent of our codec.

Headers are read with `struct`, bodies are parsed and every PDU it sends is built by
smpplib's PDU classes, so a bug in `smshub.carriers.smpp.pdu` cannot hide behind a
matching bug here. It records the raw bytes of every submit_sm, and can misbehave on
demand: answer late, throttle, drop the connection, or send garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import smpplib.consts as consts
import smpplib.smpp as smpplib_smpp

ESME_RTHROTTLED = 0x58


class _NoClient:
    sequence = None

    def next_sequence(self) -> int:
        return 0


_CLIENT = _NoClient()


def build(command: str, sequence: int, **fields: Any) -> bytes:
    pdu = smpplib_smpp.make_pdu(command, client=_CLIENT, **fields)
    pdu.sequence = sequence
    return bytes(pdu.generate())


def parse(data: bytes) -> Any:
    pdu = smpplib_smpp.parse_pdu(data, client=_CLIENT)
    pdu.sequence = struct.unpack(">I", data[12:16])[0]
    return pdu


@dataclass
class Submitted:
    raw: bytes
    message_id: str
    source_addr: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    destination_addr: str = ""
    short_message: bytes = b""
    data_coding: int = 0
    esm_class: int = 0
    registered_delivery: int = 0
    at: float = 0.0


@dataclass
class Smsc:
    id_format: str = "hex"  # how submit_sm_resp writes message ids: hex | decimal
    resp_delay_s: float = 0.0
    parse_submits: bool = True
    # status to answer a submit with (default OK); lets a test throttle or refuse
    decide: Callable[[int], int] | None = None
    drop_after: int | None = None  # close the connection on the Nth submit, unanswered
    submits: list[Submitted] = field(default_factory=list)
    accepted: int = 0
    refused: int = 0
    binds: int = 0
    unbinds: int = 0
    bind_status: int = 0
    deliver_resps: list[int] = field(default_factory=list)
    port: int = 0
    outstanding: int = 0
    max_outstanding: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _rx_writers: list[asyncio.StreamWriter] = field(default_factory=list)
    bind_kinds: list[str] = field(default_factory=list)
    _next_id: int = 0x10000
    _seq: int = 1
    _resp_waiters: dict[int, asyncio.Future[int]] = field(default_factory=dict)
    bound_event: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        for w in list(self._writers):
            w.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)
            self._server = None

    # -- test controls -----------------------------------------------------------------
    def drop(self) -> None:
        for w in list(self._writers):
            w.close()
        self._writers.clear()

    def send_raw(self, data: bytes) -> None:
        self._writers[-1].write(data)

    async def deliver(self, wait_s: float = 5.0, command: str = "deliver_sm", **fields: Any) -> int:
        """Send a deliver_sm (or data_sm) to the bound ESME and return its resp status."""
        seq = self._seq = self._seq + 1
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._resp_waiters[seq] = fut
        rx = [w for w in self._rx_writers if not w.is_closing()]
        rx[-1].write(build(command, seq, **fields))
        status = await asyncio.wait_for(fut, wait_s)
        self.deliver_resps.append(status)
        return status

    async def receipt(self, message_id: str, stat: str = "DELIVRD", **fields: Any) -> int:
        text = (
            f"id:{message_id} sub:001 dlvrd:001 submit date:2601011200 "
            f"done date:2601011201 stat:{stat} err:000 text:"
        )
        return await self.deliver(
            source_addr="15550000000",
            destination_addr="15550000001",
            esm_class=consts.SMPP_MSGMODE_DEFAULT | 0x04,
            short_message=text.encode(),
            **fields,
        )

    async def wait_submits(self, n: int, wait_s: float = 10.0) -> None:
        deadline = time.monotonic() + wait_s
        while self.accepted < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"SMSC accepted {self.accepted} submits, expected {n}")
            await asyncio.sleep(0.01)

    # -- the server --------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readexactly(16)
                length, command_id, status, seq = struct.unpack(">IIII", head)
                body = await reader.readexactly(length - 16)
                await self._handle(writer, head + body, command_id, status, seq)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(ValueError):
                self._writers.remove(writer)
            writer.close()

    async def _handle(
        self, writer: asyncio.StreamWriter, data: bytes, command_id: int, status: int, seq: int
    ) -> None:
        binds = {1: "bind_receiver", 2: "bind_transmitter", 9: "bind_transceiver"}
        if command_id in binds:
            self.binds += 1
            self.bind_kinds.append(binds[command_id])
            resp = build(
                f"{binds[command_id]}_resp", seq, system_id="smsc", status=self.bind_status
            )
            writer.write(resp)
            if command_id != 2:  # it can receive: deliver_sm go here
                self._rx_writers.append(writer)
            self.bound_event.set()
        elif command_id == 0x00000004:
            await self._submit(writer, data, seq)
        elif command_id == 0x00000015:
            writer.write(build("enquire_link_resp", seq))
        elif command_id == 0x00000006:
            self.unbinds += 1
            writer.write(build("unbind_resp", seq))
        elif command_id in (0x80000005, 0x80000103):
            fut = self._resp_waiters.pop(seq, None)
            if fut is not None and not fut.done():
                fut.set_result(status)
        elif not command_id & 0x80000000:
            writer.write(build("generic_nack", seq, status=consts.SMPP_ESME_RINVCMDID))

    async def _submit(self, writer: asyncio.StreamWriter, data: bytes, seq: int) -> None:
        self.outstanding += 1
        self.max_outstanding = max(self.max_outstanding, self.outstanding)
        n = len(self.submits) + 1
        if self.drop_after is not None and n == self.drop_after:
            self.drop_after = None
            self.submits.append(Submitted(data, "", at=time.monotonic()))
            self.outstanding = 0
            self.drop()
            return
        status = self.decide(n) if self.decide else 0
        if status:
            self.refused += 1
            self.submits.append(Submitted(data, "", at=time.monotonic()))
            await self._answer(writer, build("submit_sm_resp", seq, status=status))
            return
        self._next_id += 1
        mid = format(self._next_id, "x") if self.id_format == "hex" else str(self._next_id)
        sub = Submitted(data, mid, at=time.monotonic())
        if self.parse_submits:
            pdu = parse(data)
            sub.source_addr = pdu.source_addr.decode()
            sub.source_addr_ton = int(pdu.source_addr_ton)
            sub.source_addr_npi = int(pdu.source_addr_npi)
            sub.destination_addr = pdu.destination_addr.decode()
            sub.short_message = bytes(pdu.short_message or b"")
            sub.data_coding = int(pdu.data_coding)
            sub.esm_class = int(pdu.esm_class)
            sub.registered_delivery = int(pdu.registered_delivery)
        self.submits.append(sub)
        self.accepted += 1
        await self._answer(writer, build("submit_sm_resp", seq, message_id=mid))

    async def _answer(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if self.resp_delay_s:
            asyncio.get_running_loop().call_later(self.resp_delay_s, self._write, writer, data)
        else:
            self._write(writer, data)

    def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        self.outstanding = max(0, self.outstanding - 1)
        if not writer.is_closing():
            writer.write(data)
