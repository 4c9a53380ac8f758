"""When automatically opened pools close and deliver, and on which producer terms they open (pure).

Community group buying runs on a daily rhythm: orders close at a set time (say 20:00)
and are collected at the pickup point the next day (say 09:00-18:00). A pool opened for
a household's intent takes the next cut-off, the next day's pickup window, and the price
tiers, bulk unit and MOQ of the producer offering the product cheapest — the terms the
pool is most likely to be sourced at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yuantou.domain.pooling import Intent, PoolTerms
from yuantou.domain.sourcing import Offer

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_OFFSET = re.compile(r"^([+-])([01]\d|2[0-3]):([0-5]\d)$")


def parse_clock(text: str, what: str) -> time:
    match = _CLOCK.match(text.strip())
    if not match:
        raise ValueError(f"{what}: {text!r} is not a time of day HH:MM")
    return time(int(match[1]), int(match[2]))


def parse_offset(text: str) -> timezone:
    match = _OFFSET.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a UTC offset like +08:00")
    delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
    return timezone(delta if match[1] == "+" else -delta)


def parse_zone(text: str) -> tzinfo:
    """An IANA time zone (``Asia/Shanghai``: local clocks, summer time included) or a fixed UTC offset (``+08:00``)."""
    name = text.strip()
    if _OFFSET.match(name):
        return parse_offset(name)
    if not name or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(f"{text!r} is neither an IANA time zone like Asia/Shanghai nor a UTC offset like +08:00")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is neither an IANA time zone like Asia/Shanghai nor a UTC offset like +08:00") from None


@dataclass(frozen=True)
class PoolSchedule:
    cutoff: time
    pickup_start: time
    pickup_end: time
    zone: tzinfo
    step: Decimal = Decimal(1)

    @classmethod
    def parse(cls, cutoff: str, pickup: str, zone: str, step: str) -> PoolSchedule:
        """``zone``: an IANA time zone or a UTC offset (``parse_zone``)."""
        start, sep, end = pickup.partition("-")
        if not sep:
            raise ValueError(f"pickup window {pickup!r}: expected HH:MM-HH:MM")
        schedule = cls(parse_clock(cutoff, "cut-off"), parse_clock(start, "pickup start"),
                       parse_clock(end, "pickup end"), parse_zone(zone), Decimal(step))
        if schedule.pickup_end <= schedule.pickup_start:
            raise ValueError(f"pickup window {pickup!r} must end after it starts")
        if schedule.step <= 0:
            raise ValueError(f"step {step!r} must be positive")
        return schedule

    def next_cutoff(self, now: float) -> float:
        local = datetime.fromtimestamp(now, self.zone)
        cut = datetime.combine(local.date(), self.cutoff, self.zone)
        if cut.timestamp() <= now:
            cut += timedelta(days=1)
        return cut.timestamp()

    def pickup_window(self, cutoff: float) -> tuple[float, float]:
        day = datetime.fromtimestamp(cutoff, self.zone).date() + timedelta(days=1)
        return (datetime.combine(day, self.pickup_start, self.zone).timestamp(),
                datetime.combine(day, self.pickup_end, self.zone).timestamp())


def terms_from_offers(intent: Intent, offers: list[Offer], schedule: PoolSchedule, cutoff: float) -> PoolTerms | None:
    """A pool for this intent on the cheapest producer's terms, or None if no one offers it."""
    usable = [o for o in offers if o.capacity >= max(o.moq, o.bulk_unit)]
    if not usable:
        return None
    cheapest = min(usable, key=lambda o: (o.tiers[0].unit_price, o.producer_id))
    return PoolTerms(spec=intent.spec, pickup_points=frozenset({intent.pickup_point}),
                     window=schedule.pickup_window(cutoff), cutoff=cutoff, bulk_unit=cheapest.bulk_unit,
                     moq=cheapest.moq, tiers=cheapest.tiers, step=schedule.step, unit=cheapest.unit,
                     currency=cheapest.currency)
