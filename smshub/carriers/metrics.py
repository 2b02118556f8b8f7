"""Operator metrics: Prometheus counters (`/metrics`) and a short in-process history for
the connectors page (throughput over the last minute, the last errors)."""

from __future__ import annotations

import hmac
import time
from collections import deque
from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from smshub.carriers.base import CarrierError, SubmitResult, ThrottledCarrierError

SUBMITS = Counter("smshub_carrier_submits", "Messages accepted by a carrier", ["connector"])
FAILURES = Counter("smshub_carrier_failures", "Submits a carrier refused", ["connector"])
THROTTLES = Counter("smshub_carrier_throttles", "Submits the carrier throttled", ["connector"])
RECEIPTS = Counter("smshub_carrier_receipts", "Delivery receipts received", ["connector"])
INBOUND = Counter("smshub_carrier_inbound", "Inbound messages received", ["connector"])

_sent: dict[str, deque[float]] = {}
_errors: dict[str, deque[tuple[float, str]]] = {}


def count_results(connector_id: str, results: Sequence[SubmitResult | CarrierError]) -> None:
    now = time.time()
    ok = 0
    for result in results:
        if isinstance(result, SubmitResult):
            ok += 1
            continue
        (THROTTLES if isinstance(result, ThrottledCarrierError) else FAILURES).labels(
            connector_id
        ).inc()
        _errors.setdefault(connector_id, deque(maxlen=10)).append((now, str(result)[:300]))
    if ok:
        SUBMITS.labels(connector_id).inc(ok)
        _sent.setdefault(connector_id, deque(maxlen=200_000)).extend([now] * ok)


def sent_last_minute(connector_id: str) -> int:
    times = _sent.get(connector_id)
    if not times:
        return 0
    cutoff = time.time() - 60
    while times and times[0] < cutoff:
        times.popleft()
    return len(times)


def last_errors(connector_id: str) -> list[tuple[float, str]]:
    return list(_errors.get(connector_id, ()))


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics: this process's counters in the Prometheus text format. With
    SMSHUB_METRICS_TOKEN set, only a scraper presenting it as a Bearer token reads them
    (Prometheus `authorization: {credentials: ...}`)."""
    token: str = getattr(request.app.state.settings, "metrics_token", "")
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response(
                "metrics: a valid Bearer token (SMSHUB_METRICS_TOKEN) is required\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                media_type="text/plain",
            )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
