"""next_runs: the documented DST policy, fixed intervals, one-offs and speed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules import next_run, next_runs, parse_schedule


def runs(text: str, zone: str, after: str, count: int = 5) -> list[str]:
    """ISO times with offsets, as `schedule preview --json` shows them."""
    start = datetime.fromisoformat(after)
    return [t.isoformat() for t in next_runs(parse_schedule(text), zone, start, count)]


def test_spring_forward_gap_runs_at_the_end_of_the_gap() -> None:
    assert runs("daily 02:30", "Europe/Berlin", "2027-03-27T12:00:00+00:00", 3) == [
        "2027-03-28T03:00:00+02:00",
        "2027-03-29T02:30:00+02:00",
        "2027-03-30T02:30:00+02:00",
    ]


def test_half_hour_gap_of_lord_howe() -> None:
    # Lord Howe Island moves its clocks by 30 minutes: 02:00 becomes 02:30.
    assert runs("daily 02:15", "Australia/Lord_Howe", "2027-10-02T00:00:00+00:00", 2) == [
        "2027-10-03T02:30:00+11:00",
        "2027-10-04T02:15:00+11:00",
    ]


def test_repeated_hour_runs_a_fixed_time_once_at_its_first_occurrence() -> None:
    assert runs("daily 02:30", "Europe/Berlin", "2027-10-30T12:00:00+00:00", 2) == [
        "2027-10-31T02:30:00+02:00",
        "2027-11-01T02:30:00+01:00",
    ]


def test_after_the_first_pass_of_a_repeated_hour_a_fixed_time_waits_a_day() -> None:
    second_pass = "2027-10-31T02:15:00+01:00"
    assert runs("daily 02:30", "Europe/Berlin", second_pass, 1) == ["2027-11-01T02:30:00+01:00"]


def test_clock_aligned_interval_runs_each_repeated_wall_time_once() -> None:
    # docs/design.md: a time that occurs twice runs once, at its first occurrence (as systemd does).
    times = runs("every 30m", "Europe/Berlin", "2027-10-31T02:15:00+02:00", 4)
    assert times == [
        "2027-10-31T02:30:00+02:00",
        "2027-10-31T03:00:00+01:00",
        "2027-10-31T03:30:00+01:00",
        "2027-10-31T04:00:00+01:00",
    ]


def test_interval_started_in_the_first_pass_skips_the_second_pass() -> None:
    assert runs("hourly", "America/New_York", "2027-11-07T01:30:00-04:00", 2) == [
        "2027-11-07T02:00:00-05:00",
        "2027-11-07T03:00:00-05:00",
    ]


def test_interval_slot_in_a_gap_runs_at_the_end_of_the_gap() -> None:
    # 02:00 does not exist on 2027-03-28 in Berlin: it runs at 03:00, the first valid instant.
    assert runs("every 2h", "Europe/Berlin", "2027-03-28T00:30:00+01:00", 3) == [
        "2027-03-28T03:00:00+02:00",
        "2027-03-28T04:00:00+02:00",
        "2027-03-28T06:00:00+02:00",
    ]


def test_clock_aligned_interval_skips_wall_times_that_do_not_exist() -> None:
    assert runs("every 30m", "Europe/Berlin", "2027-03-28T01:15:00+01:00", 3) == [
        "2027-03-28T01:30:00+01:00",
        "2027-03-28T03:00:00+02:00",
        "2027-03-28T03:30:00+02:00",
    ]


@pytest.mark.parametrize(
    ("expression", "zone", "after"),
    [
        ("30 2 * * *", "Europe/Berlin", "2027-03-27T12:00:00+00:00"),
        ("30 2 * * *", "Europe/Berlin", "2027-10-30T12:00:00+00:00"),
        ("15 1 * * *", "America/New_York", "2027-11-06T12:00:00+00:00"),
        ("0 2 * * *", "Australia/Sydney", "2027-10-02T00:00:00+00:00"),
    ],
)
def test_cron_expressions_follow_cronsim_at_dst_edges(expression: str, zone: str, after: str) -> None:
    # cronsim mimics Debian cron at DST edges, and so does our policy for fixed times.
    # (Debian cron runs wildcard-hour jobs in both passes of a repeated hour; we follow
    # docs/design.md and systemd there: once, see the tests above.)
    start = datetime.fromisoformat(after).astimezone(ZoneInfo(zone))
    expected = [t.astimezone(UTC) for _, t in zip(range(4), CronSim(expression, start), strict=False)]
    ours = next_runs(parse_schedule(expression), zone, start, 4)
    assert [t.astimezone(UTC) for t in ours] == expected


def test_fixed_intervals_count_from_the_unix_epoch() -> None:
    assert runs("every 90m", "UTC", "2027-01-01T00:00:00+00:00", 3) == [
        "2027-01-01T01:30:00+00:00",
        "2027-01-01T03:00:00+00:00",
        "2027-01-01T04:30:00+00:00",
    ]
    hours_since_epoch = (datetime(2027, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(hours=1)
    first = next_runs(parse_schedule("every 7h"), "UTC", datetime(2027, 1, 1, tzinfo=UTC), 1)[0]
    assert first == datetime(2027, 1, 1, tzinfo=UTC) + timedelta(hours=7 - hours_since_epoch % 7)


def test_fixed_intervals_ignore_dst() -> None:
    times = next_runs(parse_schedule("every 90m"), "Europe/Berlin", datetime(2027, 3, 28, 0, 0, tzinfo=UTC), 3)
    assert [b - a for a, b in pairwise(times)] == [timedelta(minutes=90)] * 2


def test_results_are_in_the_task_zone() -> None:
    times = next_runs(parse_schedule("weekdays 09:00"), "Asia/Kolkata", datetime(2027, 1, 1, tzinfo=UTC), 3)
    assert all(t.tzinfo == ZoneInfo("Asia/Kolkata") and (t.hour, t.minute) == (9, 0) for t in times)


def test_once_runs_once_and_not_in_the_past() -> None:
    once = parse_schedule("once 2027-01-31 10:00")
    assert runs("once 2027-01-31 10:00", "Europe/Berlin", "2027-01-01T00:00:00+00:00") == ["2027-01-31T10:00:00+01:00"]
    assert next_runs(once, "Europe/Berlin", datetime(2027, 1, 31, 9, 0, tzinfo=UTC), 5) == []
    assert next_run(once, "Europe/Berlin", datetime(2028, 1, 1, tzinfo=UTC)) is None


def test_strictly_after_the_start() -> None:
    start = datetime(2027, 1, 4, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert next_run(parse_schedule("monday 09:00"), "Europe/Berlin", start) == start + timedelta(days=7)


def test_monthly_31st_skips_short_months_and_leap_day_waits_for_leap_years() -> None:
    after = "2027-01-01T00:00:00+00:00"
    assert [t[:10] for t in runs("monthly 31st 08:00", "UTC", after, 4)] == [
        "2027-01-31", "2027-03-31", "2027-05-31", "2027-07-31",
    ]  # fmt: skip
    assert [t[:10] for t in runs("0 0 29 2 *", "UTC", after, 3)] == ["2028-02-29", "2032-02-29", "2036-02-29"]


@pytest.mark.parametrize(
    ("text", "message"),
    [("count", "count must be at least 1"), ("naive", "must carry a time zone"), ("zone", "unknown time zone")],
)
def test_bad_arguments(text: str, message: str) -> None:
    schedule = parse_schedule("daily 09:00")
    aware = datetime(2027, 1, 1, tzinfo=UTC)
    arguments = {
        "count": ("UTC", aware, 0),
        "naive": ("UTC", datetime(2027, 1, 1), 1),
        "zone": ("Mars/Base", aware, 1),
    }[text]
    with pytest.raises(ScheduleError, match=message):
        next_runs(schedule, *arguments)


def test_no_overflow_at_the_end_of_time() -> None:
    late = datetime(9999, 12, 30, tzinfo=UTC)
    assert len(next_runs(parse_schedule("daily 09:00"), "America/New_York", late, 5)) <= 2
    assert len(next_runs(parse_schedule("every 90m"), "UTC", late, 100)) < 100


@pytest.mark.parametrize(
    "text", ["once 2027-12-31 23:00", "monthly 31st 08:00", "0 0 29 2 *", "0 0 29 2 1", "@yearly", "every 1m"]
)
def test_ten_runs_are_fast(text: str) -> None:
    schedule = parse_schedule(text)
    after = datetime(2027, 1, 1, tzinfo=UTC)
    next_runs(schedule, "Europe/Berlin", after, 10)  # warm up the lazy import
    best = min(_timed(lambda: next_runs(schedule, "Europe/Berlin", after, 10)) for _ in range(5))
    assert best < 0.005


def _timed(call: object) -> float:
    assert callable(call)
    started = time.perf_counter()
    call()
    return time.perf_counter() - started
