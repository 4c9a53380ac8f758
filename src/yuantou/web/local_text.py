"""Times, quantities and prices as a person reads them: in the node's time zone and the reader's language."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal

from babel.dates import format_skeleton, format_time

from yuantou.i18n.money import money


def local(epoch: float, zone: tzinfo) -> datetime:
    return datetime.fromtimestamp(epoch, zone)


def day_and_time(epoch: float, zone: tzinfo, locale: str) -> str:
    """``Thu, Dec 3 08:00`` / ``12月3日周四 08:00`` in the node's zone."""
    moment = local(epoch, zone)
    return f"{format_skeleton('MMMEd', moment, locale=locale)} {format_time(moment, 'HH:mm', locale=locale)}"


def time_span(start: float, end: float, zone: tzinfo, locale: str) -> str:
    """A pickup window: the day once, then ``08:00–12:00`` (both days if it crosses midnight)."""
    first, last = local(start, zone), local(end, zone)
    if first.date() == last.date():
        return f"{day_and_time(start, zone, locale)}–{format_time(last, 'HH:mm', locale=locale)}"
    return f"{day_and_time(start, zone, locale)} – {day_and_time(end, zone, locale)}"


def quantity(value: Decimal | str | None, unit: str) -> str:
    """``2.5 kg``: trailing zeros dropped (the pool's step decides what is shown)."""
    if value is None:
        return "—"
    return f"{format(Decimal(str(value)).normalize(), 'f')} {unit}"


def unit_price(amount: Decimal | str, currency: str, unit: str, locale: str) -> str:
    """``¥8.00/kg``."""
    return f"{money(amount, currency, locale)}/{unit}"
