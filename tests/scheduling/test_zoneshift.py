"""machine_times: the machine-zone wall times that cover every run of a task in another zone.

The property that matters is checked against the engine itself: every run of the task over
a year, seen on the machine's wall clock, is matched by one of the expressions. Pinned cases
show the exact expressions for the pairs people meet (Berlin on a New York machine, whose DST
changes fall on different dates).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules import next_runs, parse_schedule
from bassi_ci.schedules.cronfields import CronFields, cron_fields
from bassi_ci.scheduling.zoneshift import machine_times, matches, transitions

START = datetime(2027, 1, 1, tzinfo=UTC)


def _times(schedule: str, task: str, machine: str) -> tuple[tuple[str, ...], tuple[int, ...], bool]:
    found = machine_times(parse_schedule(schedule), task, machine, START)
    return found.expressions, found.shifts, found.exact


def test_berlin_nine_is_three_or_four_in_new_york() -> None:
    # CET-EST is 6 h; from NY's change (14 March) to Berlin's (28 March), and from Berlin's
    # (31 October) to NY's (7 November), only 5 h.
    assert _times("daily 09:00", "Europe/Berlin", "America/New_York") == (("0 3,4 * * *",), (-360, -300), False)


def test_zones_that_always_agree_keep_the_pattern_exactly() -> None:
    assert _times("weekdays 09:00", "Europe/Berlin", "Europe/Paris") == (("0 9 * * 1-5",), (0,), True)
    assert _times("every 30m", "UTC", "UTC") == (("*/30 * * * *",), (0,), True)


def test_a_run_in_the_spring_gap_is_woken_for_at_the_gap_end() -> None:
    # 02:30 does not exist in Berlin on 2027-03-28; the DST policy runs it at 03:00 CEST, which
    # is 21:00 on Saturday in New York: March, Saturdays, 21:00.
    expressions, _, exact = _times("daily 02:30", "Europe/Berlin", "America/New_York")
    assert expressions == ("30 20,21 * * *", "0 21 * 3 6")
    assert not exact
    # Even in the task's own zone the gap end needs a wake-up of its own (launchd may skip 02:30).
    assert _times("daily 02:30", "Europe/Berlin", "Europe/Berlin")[0] == ("30 2 * * *", "0 3 * 3 0")


def test_a_gap_end_that_is_already_a_run_adds_nothing() -> None:
    assert _times("every 30m", "Europe/Berlin", "America/New_York")[0] == ("0,30 * * * *",)


def test_moving_across_midnight_moves_the_day_fields() -> None:
    # Tokyo 08:00 on the 1st is the previous evening in New York: the last day of a month,
    # whose number depends on the month.
    assert _times("monthly 1st 08:00", "Asia/Tokyo", "America/New_York")[0] == ("0 18,19 28,29,30,31 * *",)
    # Monday 05:30 in Berlin is Sunday 23:30 or Monday 00:30 in New York.
    assert _times("monday 05:30", "Europe/Berlin", "America/New_York")[0] == ("30 23 * * 0", "30 0 * * 1")
    # Every day of January at midnight UTC, seen from Tokyo, is 09:00 in January.
    assert _times("0 0 * 1 *", "UTC", "Asia/Tokyo")[0] == ("0 9 * 1 *",)
    # ...and from Los Angeles the evening before (16:00, or 17:00 in summer time): 31 December too.
    assert _times("0 0 * 1 *", "UTC", "America/Los_Angeles")[0] == ("0 16,17 * 1,12 *",)


def test_half_and_three_quarter_hour_offsets_split_minutes_by_their_carry() -> None:
    expressions, shifts, _ = _times("*/20 9 * * *", "UTC", "Asia/Kathmandu")
    assert shifts == (345,)
    # 09:00, 09:20, 09:40 UTC are 14:45, 15:05, 15:25 in Kathmandu.
    assert expressions == ("45 14 * * *", "5,25 15 * * *")


def test_transitions_are_found_to_the_second() -> None:
    berlin = transitions(ZoneInfo("Europe/Berlin"), START, START + timedelta(days=365))
    new_york = transitions(ZoneInfo("America/New_York"), START, START + timedelta(days=365))
    assert berlin == [datetime(2027, 3, 28, 1, tzinfo=UTC), datetime(2027, 10, 31, 1, tzinfo=UTC)]
    assert new_york == [datetime(2027, 3, 14, 7, tzinfo=UTC), datetime(2027, 11, 7, 6, tzinfo=UTC)]


def test_schedules_without_wall_times_are_refused() -> None:
    with pytest.raises(ScheduleError, match="does not follow the calendar"):
        machine_times(parse_schedule("every 90m"), "UTC", "Europe/Berlin", START)


def test_matches_reads_one_wall_time() -> None:
    assert matches("0 21 * 3 6", datetime(2027, 3, 27, 21, 0))
    assert not matches("0 21 * 3 6", datetime(2027, 3, 28, 21, 0))


def runs_between(schedule: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    """The engine's runs in [start, end), fetched in batches (a count of a year's runs would
    make a monthly schedule compute centuries)."""
    parsed, runs = parse_schedule(schedule), [start - timedelta(seconds=1)]
    while runs[-1] < end:
        batch = next_runs(parsed, zone, runs[-1], 500)
        if not batch:
            break
        runs += batch
    return [run for run in runs[1:] if run < end]


def _covered(fields: list[CronFields], wall: datetime) -> bool:
    weekday = wall.isoweekday() % 7
    for item in fields:
        if wall.minute not in item.minutes or wall.hour not in item.hours or wall.month not in item.months:
            continue
        by_date, by_weekday = wall.day in item.days, weekday in item.weekdays
        if (by_date and by_weekday) if item.days_and else (by_date or by_weekday):
            return True
    return False


PAIRS = [
    ("daily 09:00", "Europe/Berlin", "America/New_York"),
    ("daily 02:30", "Europe/Berlin", "America/New_York"),
    ("weekdays 23:30", "America/New_York", "Europe/Berlin"),
    ("monthly 1st 00:15", "Australia/Sydney", "America/Los_Angeles"),
    ("monthly 31 23:45", "America/Sao_Paulo", "Asia/Kolkata"),
    ("sunday 02:30", "America/New_York", "Europe/London"),
    ("every 30m", "Asia/Kathmandu", "Europe/Berlin"),
    ("5,35 1-3 1,15 * 1", "Europe/London", "Australia/Lord_Howe"),
    ("hourly", "Australia/Lord_Howe", "America/St_Johns"),
    ("0 0 * 1 *", "UTC", "America/Los_Angeles"),
    ("monthly 1st 08:00", "Asia/Tokyo", "America/New_York"),
    ("30 22 28 2 *", "America/Los_Angeles", "Pacific/Kiritimati"),
]


@pytest.mark.parametrize(("schedule", "task", "machine"), PAIRS)
def test_every_run_of_a_year_lies_on_a_woken_machine_wall_time(schedule: str, task: str, machine: str) -> None:
    found = machine_times(parse_schedule(schedule), task, machine, START)
    fields = [cron_fields(expression) for expression in found.expressions]
    zone = ZoneInfo(machine)
    runs = runs_between(schedule, task, START, START + timedelta(days=366))
    missed = [run for run in runs if not _covered(fields, run.astimezone(zone).replace(tzinfo=None))]
    assert runs and missed == []
