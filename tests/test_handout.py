"""Handing out at the pickup point (the pure rules): codes nobody else at the point holds, and when a line may go."""

from __future__ import annotations

import secrets

from hypothesis import given
from hypothesis import strategies as st

from yuantou.domain.handout import CODE_DIGITS, hand_out_problem, new_pickup_code


@given(st.sets(st.integers(0, 10 ** CODE_DIGITS - 1), max_size=50), st.integers(1, 40))
def test_a_new_code_differs_from_every_code_still_held_at_the_point(held: set[int], wanted: int) -> None:
    taken = {f"{n:0{CODE_DIGITS}d}" for n in held}
    before = set(taken)
    drawn = iter([*sorted(held), *(secrets.randbelow(10 ** CODE_DIGITS) for _ in range(10_000))])  # taken ones first
    codes = [new_pickup_code(taken, lambda n: next(drawn)) for _ in range(wanted)]
    assert len(set(codes)) == wanted and not set(codes) & before
    assert all(len(c) == CODE_DIGITS and c.isdigit() for c in codes) and taken == before | set(codes)


def test_a_line_is_handed_out_once_and_only_once_its_goods_have_left_the_producer() -> None:
    assert hand_out_problem("shipped", False) is None and hand_out_problem("delivered", False) is None
    for status in ("ordering", "ordered", "accepted", "packed", "unsourced"):
        problem = hand_out_problem(status, False)
        assert problem is not None and problem.code == "not_arrived" and status in problem.message
    again = hand_out_problem("shipped", True)
    assert again is not None and again.code == "already_handed_out"
