"""The numbers Yuantou takes from anyone: quantities, prices, capacities, bounded before any arithmetic.

Python's ``Decimal`` reads ``1e999999`` at once, but turning it into an ``int`` or a ``float`` (whole steps,
minor units, a stored capacity) runs for seconds under the GIL or gives ``inf``. Every number that enters
from a file, the business API or a Beckn body passes ``bounded`` first.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MAX_AMOUNT = Decimal(10) ** 12  # more than any quantity, capacity or price a node deals in
MAX_DECIMALS = 6  # finer than any unit or currency Yuantou handles


class AmountError(ValueError):
    """Why a number was refused (the caller adds where it was)."""


def bounded(value: object, *, positive: bool = False, allow_zero: bool = True,
            most: Decimal = MAX_AMOUNT, decimals: int = MAX_DECIMALS) -> Decimal:
    """``value`` as a finite Decimal within ``[0, most]`` with at most ``decimals`` places, or ``AmountError``."""
    if isinstance(value, bool):
        raise AmountError(f"{value!r} is not a number")
    text = str(value).strip()
    if len(text) > 40:
        raise AmountError(f"{text[:20]}… is not a number this node takes (over 40 characters)")
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        raise AmountError(f"{text!r} is not a number") from None
    if not number.is_finite():
        raise AmountError(f"{text!r} is not a finite number")
    if number < 0 or (positive and number == 0) or (not allow_zero and number == 0):
        raise AmountError(f"{text} must be {'more than zero' if positive or not allow_zero else 'zero or more'}")
    if number > most:
        raise AmountError(f"{text} is more than {most:,}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -decimals and number != number.quantize(Decimal(1).scaleb(-decimals)):
        raise AmountError(f"{text} has more than {decimals} decimal places")
    return number
