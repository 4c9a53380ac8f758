"""Who a household is at its organiser's storefront (pure): a display name and a phone, no password.

The organiser calls the name at the pickup point and may ring the phone; both are checked here, so the
storefront's form, the API and the tests refuse the same input with the same code and field.
"""

from __future__ import annotations

import re
import unicodedata

from yuantou.domain.pooling import PoolProblem

NAME_CHARACTERS = 32
PHONE_DIGITS = (5, 15)  # E.164 allows at most 15 digits; a short local number still reaches a neighbour
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def clean_name(name: str) -> str:
    """The display name as shown: trimmed, inner spaces collapsed; refused if empty, too long or unprintable."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise PoolProblem("bad_name", "give a name the organiser can call at the pickup point", "name")
    if len(cleaned) > NAME_CHARACTERS:
        raise PoolProblem("bad_name", f"a name has at most {NAME_CHARACTERS} characters", "name")
    if any(unicodedata.category(c).startswith("C") for c in cleaned):
        raise PoolProblem("bad_name", "a name cannot hold control characters", "name")
    return cleaned


def clean_phone(phone: str) -> str:
    """The phone as digits, with a leading ``+`` if it was given: ``138 0013 8000`` -> ``13800138000``."""
    compact = _PHONE_SEPARATORS.sub("", phone.strip())
    plus, digits = (compact[:1] == "+"), compact.lstrip("+")
    low, high = PHONE_DIGITS
    if not digits.isascii() or not digits.isdigit() or not low <= len(digits) <= high:
        raise PoolProblem("bad_phone", f"a phone number has {low} to {high} digits", "phone")
    return ("+" if plus else "") + digits
