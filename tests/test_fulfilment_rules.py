"""The producer's order moves (``domain.fulfilment``): forward only, never twice, refusable until shipped."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yuantou.domain.fulfilment import PROGRESS, REFUSED, STATES, MoveRefused, check_move, moves_from


def allowed(current: str, wanted: str) -> bool:
    try:
        check_move(current, wanted)
    except MoveRefused:
        return False
    return True


@pytest.mark.parametrize("current", STATES)
def test_a_console_offers_exactly_the_allowed_moves(current):
    assert set(moves_from(current)) == {s for s in STATES if allowed(current, s)}


@given(st.lists(st.sampled_from([*STATES, "Teleported"]), max_size=30))
def test_any_clicks_move_an_order_forward_only_and_never_into_a_state_twice(clicks):
    state, visited = "Pending", ["Pending"]
    for wanted in clicks:
        if allowed(state, wanted):
            state = wanted
            visited.append(state)
    assert len(visited) == len(set(visited))  # a double click changes nothing
    progress = [PROGRESS.index(s) for s in visited if s in PROGRESS]
    assert progress == sorted(progress)
    if REFUSED in visited:
        assert visited[-1] == REFUSED and "Shipped" not in visited  # nothing after a refusal; none once shipped


def test_each_refusal_names_why():
    cases = {("Accepted", "Accepted"): "already_there", ("Packed", "Accepted"): "backwards",
             ("Shipped", REFUSED): "shipped", (REFUSED, "Packed"): "ended", ("Pending", "Teleported"): "unknown_state",
             ("Pending", "Cancelled"): "unknown_state"}
    for (current, wanted), code in cases.items():
        with pytest.raises(MoveRefused) as refused:
            check_move(current, wanted)
        assert refused.value.code == code
    with pytest.raises(MoveRefused) as long:
        check_move("Pending", REFUSED, "x" * 201)
    assert long.value.code == "reason_too_long"
