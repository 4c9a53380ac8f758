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
    (("20:00", "09:00-18:00", "Mars/Olympus_Mons", "1"), "IANA time zone like Asia/Shanghai nor a UTC offset"),
    (("20:00", "09:00-18:00", "../../etc/passwd", "1"), "IANA time zone like Asia/Shanghai nor a UTC offset"),
    (("20:00", "09:00-18:00", "+8", "1"), "IANA time zone like Asia/Shanghai nor a UTC offset"),
    (("20:00", "09:00-18:00", "+08:00", "0"), "positive"),
])
def test_bad_schedules_say_what_is_wrong(args, words):
    with pytest.raises(ValueError, match=words):
        PoolSchedule.parse(*args)


def test_an_iana_zone_keeps_local_clocks_summer_time_included():
    shanghai = PoolSchedule.parse("20:00", "09:00-18:00", "Asia/Shanghai", "1")
    fixed = PoolSchedule.parse("20:00", "09:00-18:00", "+08:00", "1")
    for now in ("2026-01-15T10:00:00+08:00", "2026-07-15T23:30:00+08:00"):
        assert shanghai.next_cutoff(ts(now)) == fixed.next_cutoff(ts(now))
    berlin = PoolSchedule.parse("20:00", "09:00-18:00", "Europe/Berlin", "1")
    assert berlin.next_cutoff(ts("2026-07-15T12:00:00+02:00")) == ts("2026-07-15T18:00:00+00:00")  # CEST
    assert berlin.next_cutoff(ts("2026-01-15T12:00:00+01:00")) == ts("2026-01-15T19:00:00+00:00")  # CET
    # the night the clocks go forward (29 March 2026): the next day's pickup still opens at 09:00 local
    assert berlin.pickup_window(berlin.next_cutoff(ts("2026-03-28T12:00:00+01:00")))[0] == ts("2026-03-29T09:00:00+02:00")


def test_a_node_config_names_its_time_zone(tmp_path):
    from yuantou.node.config import ConfigError, load_config

    base = ('subscriber_id = "n.test"\nurl = "http://127.0.0.1:1/beckn"\nroles = ["buyer"]\nkey_file = "k"\n'
            'directory_url = "http://127.0.0.1:2"\napi_token = "a-token-long-enough-for-tests"\n')
    config = tmp_path / "node.toml"
    config.write_text(base + 'time_zone = "Asia/Shanghai"\n')
    assert str(load_config(config).pool_schedule.zone) == "Asia/Shanghai"
    config.write_text(base)  # no zone named: the old default offset
    assert load_config(config).pool_schedule.zone.utcoffset(None).total_seconds() == 8 * 3600
    config.write_text(base + 'time_zone = "Asia/Shanghia"\n')
    with pytest.raises(ConfigError, match="time_zone.*'Asia/Shanghia' is neither an IANA time zone"):
        load_config(config)
    config.write_text(base + 'time_zone = "Asia/Shanghai"\npool_utc_offset = "+08:00"\n')
    with pytest.raises(ConfigError, match="give one of them"):
        load_config(config)
