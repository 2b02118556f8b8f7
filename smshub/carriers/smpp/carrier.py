"""The SMPP connector as a `Carrier` (K2): submit_sm per segment over the process's bind."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from smshub.carriers.base import (
    CarrierError,
    OutboundSms,
    PermanentCarrierError,
    SubmitResult,
    ThrottledCarrierError,
    TransientCarrierError,
)
from smshub.carriers.smpp import pdu as p
from smshub.carriers.smpp.link import Request, SmppLink
from smshub.carriers.smpp.session import THROTTLE_STATUSES, TRANSIENT_STATUSES
from smshub.carriers.smpp.text import encode_message


def submit_pdus(link: SmppLink, sms: OutboundSms, ref: int) -> list[p.Pdu]:
    """The submit_sm of each segment (§4.4.1); the UDH or sar_* TLVs join them."""
    cfg = link.config
    encoded = encode_message(sms.body, ref, use_sar=cfg.use_sar)
    out: list[p.Pdu] = []
    for seg in encoded.segments:
        tlvs: tuple[tuple[int, bytes], ...] = ()
        if cfg.use_sar and seg.total > 1:
            tlvs = (
                (p.TAG_SAR_MSG_REF_NUM, seg.ref.to_bytes(2, "big")),
                (p.TAG_SAR_TOTAL_SEGMENTS, bytes((seg.total,))),
                (p.TAG_SAR_SEGMENT_SEQNUM, bytes((seg.seq,))),
            )
        out.append(
            p.make(
                "submit_sm",
                0,
                tlvs=tlvs,
                service_type=b"",
                # An alphanumeric sender is TON 5 (alphanumeric), NPI 0 (unknown).
                source_addr_ton=p.TON_ALPHANUMERIC if sms.sender_id else cfg.source_ton,
                source_addr_npi=0 if sms.sender_id else cfg.source_npi,
                source_addr=sms.sender_id or sms.from_e164.lstrip("+"),
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=sms.to_e164.lstrip("+"),
                esm_class=p.ESM_UDHI if seg.udhi else 0,
                protocol_id=0,
                priority_flag=0,
                schedule_delivery_time=b"",
                validity_period=b"",
                # Only the last segment asks for a receipt: it decides "delivered".
                registered_delivery=cfg.registered_delivery if seg.seq == seg.total else 0,
                replace_if_present_flag=0,
                data_coding=encoded.data_coding,
                sm_default_msg_id=0,
                short_message=seg.payload,
            )
        )
    return out


class SmppCarrier:
    def __init__(self, connector_id: str, link: SmppLink):
        self.connector_id = connector_id
        self.link = link

    _refs = itertools.count(1)

    async def available(self) -> bool:
        """False while another process holds the bind (no point spending tokens here).
        A fresh link first finds out whose bind it is."""
        self.link.start()
        if not self.link.bound:
            await self.link.wait_first_attempt(self.link.config.response_timeout_s)
        return not self.link.standby

    async def submit_many(
        self, session: AsyncSession, batch: Sequence[OutboundSms]
    ) -> list[SubmitResult | CarrierError]:
        """Queue every segment of every message at once, so the window stays full, then
        wait for the responses. A link that is not bound refuses at once (the caller may
        fail over); one that drops meanwhile resends after reconnecting."""
        self.link.start()
        if not self.link.bound:
            await self.link.wait_first_attempt(self.link.config.response_timeout_s)
        if self.link.standby:
            # Not this process's bind: the message waits for the owner's turn, and that
            # does not use up its tries.
            return [ThrottledCarrierError("bind held by another process") for _ in batch]
        if not self.link.bound:
            why = "SMPP link is down"
            detail = f"{why}: {self.link.last_error}" if self.link.last_error else why
            return [TransientCarrierError(detail) for _ in batch]
        requests = [
            [self.link.request(pdu) for pdu in submit_pdus(self.link, sms, next(self._refs) & 0xFF)]
            for sms in batch
        ]
        futures = [r.future for reqs in requests for r in reqs]
        await asyncio.wait(futures, timeout=self.link.config.submit_timeout_s)
        return [self._result(reqs) for reqs in requests]

    def _result(self, reqs: list[Request]) -> SubmitResult | CarrierError:
        pending = [r for r in reqs if not r.future.done()]
        for r in pending:
            self.link.cancel(r)
        if pending:
            return TransientCarrierError("no submit_sm_resp in time")
        for r in reqs:
            resp = r.future.result()
            if resp.status in THROTTLE_STATUSES:
                return ThrottledCarrierError(f"SMSC throttled: status 0x{resp.status:02x}")
            if resp.status in TRANSIENT_STATUSES:
                return TransientCarrierError(f"SMSC busy: status 0x{resp.status:02x}")
            if resp.status != p.ESME_ROK:
                return PermanentCarrierError(f"SMSC refused: status 0x{resp.status:02x}")
        # The last segment's id: its receipt decides the message's fate.
        return SubmitResult(carrier_ref=reqs[-1].future.result().text("message_id"))
