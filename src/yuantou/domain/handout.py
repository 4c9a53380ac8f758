"""Handing out at the pickup point (pure): pickup codes, and when a household's line may be handed out.

Each allocated line gets a pickup code when its pool closes; the household shows it at the
pickup point and the organiser enters it. A line is handed out once, and only after its goods
have left the producer (shipped) or arrived (delivered). Handed out is a line's final state.
"""

from __future__ import annotations

from collections.abc import Callable

from yuantou.domain.pooling import PoolProblem

HANDED_OUT = "handed_out"
ARRIVED = ("shipped", "delivered")  # a line's states in which its goods can be at the pickup point
CODE_DIGITS = 8


def new_pickup_code(taken: set[str], draw: Callable[[int], int]) -> str:
    """A code of CODE_DIGITS digits that no line still to be handed out at that pickup point holds; ``draw(n)`` is
    a uniform random integer below n (``secrets.randbelow``), so codes cannot be guessed from one another."""
    while True:
        code = f"{draw(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        if code not in taken:
            taken.add(code)
            return code


def hand_out_problem(status: str, handed_out: bool) -> PoolProblem | None:
    """Why a line in this state cannot be handed out now (``None``: it can)."""
    if handed_out:
        return PoolProblem("already_handed_out", "this line was already handed out", "code")
    if status not in ARRIVED:
        return PoolProblem("not_arrived", f"this line is {status}: its goods have not left the producer yet", "code")
    return None
