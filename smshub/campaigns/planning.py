"""Campaign planning rules [pure]: placeholders, pacing and quiet hours (B2-B4).

Time is always an argument: the dispatcher passes the clock's `now`.
"""

from __future__ import annotations

import re
import string
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezone

TICK_S: Final = 0.2  # the dispatcher wakes five times a second
MAX_BATCH: Final = 500
# A tick's job is claimable this long before its planned time and waits for it in the
# handler, so the runner's poll interval does not blur the pace.
LEAD_S: Final = 1.0
PROGRESS_EVERY: Final = 5  # ticks between campaign.progress events (about one a second)
_HHMM: Final = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def placeholders(body: str) -> list[str]:
    """The `{column}` names a body uses, in order; raises ValueError on a broken brace."""
    names: list[str] = []
    for _, name, spec, conv in string.Formatter().parse(body):
        if name is None:
            continue
        if not name or spec or conv or not name.replace("_", "").isalnum():
            raise ValueError(f"'{{{name}}}' is not a placeholder; use {{column_name}}")
        names.append(name.lower())
    return list(dict.fromkeys(names))


def render(body: str, fields: dict[str, str]) -> str:
    """The body with each `{column}` replaced by the recipient's value ('' if absent)."""
    out: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(body):
        out.append(literal)
        if name is not None:
            out.append(fields.get(name.lower(), ""))
    return "".join(out)


def batch_size(rate: int) -> int:
    """Recipients per dispatcher tick for a rate in messages per second."""
    return max(1, min(MAX_BATCH, round(rate * TICK_S)))


def next_tick(planned: datetime, sent: int, rate: int, now: datetime) -> datetime:
    """When the next batch is due: `sent / rate` after this one was planned, so the
    average rate stays exact however late each tick runs; after a long stall (a restart)
    pacing starts again from now instead of bursting to catch up."""
    due = planned + timedelta(seconds=sent / rate)
    return now if due < now - timedelta(seconds=2) else due


def check_hhmm(value: str) -> time:
    match = _HHMM.match(value)
    if not match:
        raise ValueError("must be a time of day as HH:MM, for example 21:00")
    return time(int(match.group(1)), int(match.group(2)))


def zone_of(e164: str) -> ZoneInfo:
    """The recipient's time zone from its number: the first that phonenumbers gives for
    it (countries with several zones list the most populous first), else UTC."""
    try:
        zones = phone_timezone.time_zones_for_number(phonenumbers.parse(e164, None))
        return ZoneInfo(zones[0]) if zones and zones[0] != "Etc/Unknown" else ZoneInfo("UTC")
    except (phonenumbers.NumberParseException, KeyError, ValueError):
        return ZoneInfo("UTC")


def quiet_until(e164: str, now: datetime, start: str | None, end: str | None) -> datetime | None:
    """When quiet hours end for this recipient, if `now` falls inside them; else None.

    Quiet hours may wrap midnight (21:00-08:00)."""
    if not start or not end:
        return None
    zone = zone_of(e164)
    local = now.astimezone(zone)
    begin, finish = check_hhmm(start), check_hhmm(end)
    t = local.time()
    inside = begin <= t < finish if begin < finish else (t >= begin or t < finish)
    if not inside:
        return None
    end_day = local.date() if t < finish else local.date() + timedelta(days=1)
    until = datetime.combine(end_day, finish, tzinfo=zone)
    return until.astimezone(now.tzinfo)
