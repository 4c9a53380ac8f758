"""The daily rhythm of automatically opened pools: next cut-off, next day's pickup, clear config errors."""

from __future__ import annotations

from datetime import datetime

import pytest

from yuantou.domain.pool_schedule import PoolSchedule


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_next_cutoff_and_pickup_in_the_local_zone():
    s = PoolSchedule.parse("20:00", "09:00-18:00", "+08:00", "0.5")
    assert s.next_cutoff(ts("2026-11-22T10:00:00+08:00")) == ts("2026-11-22T20:00:00+08:00")
    assert s.next_cutoff(ts("2026-11-22T20:00:00+08:00")) == ts("2026-11-23T20:00:00+08:00")  # at the cut-off: next
    assert s.next_cutoff(ts("2026-11-22T23:30:00+00:00")) == ts("2026-11-23T20:00:00+08:00")  # 07:30 local
    assert s.pickup_window(ts("2026-11-22T20:00:00+08:00")) == (ts("2026-11-23T09:00:00+08:00"),
                                                                ts("2026-11-23T18:00:00+08:00"))


@pytest.mark.parametrize("args, words", [
    (("24:00", "09:00-18:00", "+08:00", "1"), "cut-off"),
    (("20:00", "18:00-09:00", "+08:00", "1"), "must end after"),
    (("20:00", "0900", "+08:00", "1"), "HH:MM-HH:MM"),
    (("20:00", "09:00-18:00", "UTC", "1"), "UTC offset"),
    (("20:00", "09:00-18:00", "+08:00", "0"), "positive"),
])
def test_bad_schedules_say_what_is_wrong(args, words):
    with pytest.raises(ValueError, match=words):
        PoolSchedule.parse(*args)
