"""How a producer moves a sold order along: the states, and which move is allowed from which.

An order goes forward only: Pending, Accepted, Packed, Shipped, Delivered. A step may be skipped (a producer
that packs as it accepts marks the order Packed at once), but never taken twice or back: a second click on
"Pack" is refused instead of telling the buyer again. Until it is shipped the producer may refuse an order;
a refused or cancelled order moves no more.
"""

from __future__ import annotations

PROGRESS = ("Pending", "Accepted", "Packed", "Shipped", "Delivered")  # least advanced first
REFUSED = "Refused"
CANCELLED = "Cancelled"
STATES = (*PROGRESS, REFUSED, CANCELLED)
REFUSABLE = ("Pending", "Accepted", "Packed")  # once shipped, the goods are on their way
REASON_MAX = 200  # characters of a refusal's reason


class MoveRefused(Exception):
    """Why a move is not allowed: ``code`` for the reader's language, ``message`` in English for the API."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # unknown_state, already_there, backwards, ended, shipped, reason_too_long
        self.message = message


def moves_from(state: str) -> tuple[str, ...]:
    """The states an order in ``state`` may move to, in the order a console offers them."""
    if state not in PROGRESS:
        return ()
    ahead = PROGRESS[PROGRESS.index(state) + 1:]
    return ahead + ((REFUSED,) if state in REFUSABLE else ())


def check_move(current: str, wanted: str, reason: str = "") -> None:
    """Raise ``MoveRefused`` unless an order in ``current`` may move to ``wanted`` (with ``reason``, if refused)."""
    if wanted not in STATES or wanted == CANCELLED:
        raise MoveRefused("unknown_state", f"unknown fulfillment state {wanted!r}; use one of "
                                           f"{', '.join(s for s in STATES if s not in ('Pending', CANCELLED))}")
    if len(reason) > REASON_MAX:
        raise MoveRefused("reason_too_long", f"the reason is {len(reason)} characters; at most {REASON_MAX}")
    if current == wanted:
        raise MoveRefused("already_there", f"the order is already {current}")
    if current not in PROGRESS:
        raise MoveRefused("ended", f"the order is {current} and moves no more")
    if wanted == REFUSED:
        if current not in REFUSABLE:
            raise MoveRefused("shipped", f"the order is already {current}; it can no longer be refused")
        return
    if PROGRESS.index(wanted) < PROGRESS.index(current):
        raise MoveRefused("backwards", f"the order is already {current}; it cannot go back to {wanted}")
