"""The DSL parser: canonical texts for good input, one clear line for bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bassi_ci.errors import ExitCode, ScheduleError
from bassi_ci.schedules import (
    Calendar,
    Cron,
    Interval,
    Once,
    normalize_schedule,
    parse_schedule,
    validate_timezone,
)

GOOD = [
    ("daily 14:30", "daily 14:30", "daily"),
    ("  DAILY   9:05 ", "daily 09:05", "daily"),
    ("Monday 9:00", "monday 09:00", "weekly"),
    ("mon 09:00", "monday 09:00", "weekly"),
    ("Fridays 17:45", "friday 17:45", "weekly"),
    ("sun 0:00", "sunday 00:00", "weekly"),
    ("weekdays 09:00", "weekdays 09:00", "weekly"),
    ("weekends 10:00", "weekends 10:00", "weekly"),
    ("monthly 1st 08:00", "monthly 1st 08:00", "monthly"),
    ("monthly 15 08:00", "monthly 15th 08:00", "monthly"),
    ("monthly 22nd 8:00", "monthly 22nd 08:00", "monthly"),
    ("monthly 31st 23:59", "monthly 31st 23:59", "monthly"),
    ("every 30m", "every 30m", "interval"),
    ("every 45 minutes", "every 45m", "interval"),
    ("every 2h", "every 2h", "interval"),
    ("every 3 hours", "every 3h", "interval"),
    ("every 120m", "every 2h", "interval"),
    ("every 90 min", "every 90m", "interval"),
    ("hourly", "hourly", "hourly"),
    ("once 2027-01-31 10:00", "once 2027-01-31 10:00", "once"),
    ("ONCE 2028-02-29 7:30", "once 2028-02-29 07:30", "once"),
    ("0 9 * * 1-5", "0 9 * * 1-5", "cron"),
    ("0 9 * * mon-fri", "0 9 * * MON-FRI", "cron"),
    ("*/15  9-17 * jan,jul *", "*/15 9-17 * JAN,JUL *", "cron"),
    ("0 0 1,15 */2 7", "0 0 1,15 */2 7", "cron"),
    ("@daily", "@daily", "cron"),
    ("@Midnight", "@midnight", "cron"),
    ("@annually", "@annually", "cron"),
]


@pytest.mark.parametrize(("text", "canonical", "kind"), GOOD)
def test_good_schedules_parse_to_their_canonical_text(text: str, canonical: str, kind: str) -> None:
    schedule = parse_schedule(text)
    assert (schedule.text, schedule.kind) == (canonical, kind)
    assert parse_schedule(canonical) == schedule


def test_parsed_forms_carry_the_values() -> None:
    assert parse_schedule("weekdays 9:00") == Calendar("weekdays 09:00", "weekly", 9, 0, weekdays=(1, 2, 3, 4, 5))
    assert parse_schedule("monthly 31st 08:00") == Calendar("monthly 31st 08:00", "monthly", 8, 0, day_of_month=31)
    assert parse_schedule("every 90m") == Interval("every 90m", 90)
    assert parse_schedule("once 2027-01-31 10:00") == Once("once 2027-01-31 10:00", datetime(2027, 1, 31, 10, 0))
    assert parse_schedule("@weekly") == Cron("@weekly", "0 0 * * 0")


def test_clock_alignment_of_intervals() -> None:
    aligned = ["every 1m", "every 15m", "every 30m", "every 1h", "every 2h", "every 24h", "hourly"]
    fixed = ["every 7m", "every 45m", "every 90m", "every 5h", "every 7h", "every 48h"]
    assert all(parse_schedule(text).clock_aligned for text in aligned)  # type: ignore[union-attr]
    assert not any(parse_schedule(text).clock_aligned for text in fixed)  # type: ignore[union-attr]


BAD = [
    ("", "the schedule is empty"),
    ("   ", "the schedule is empty"),
    ("monday 25:00", "hour 25 is out of range 0-23 in 'monday 25:00'"),
    ("daily 12:60", "minute 60 is out of range 0-59 in 'daily 12:60'"),
    ("daily 9.30", "'9.30' is not a time in 'daily 9.30'; write daily 09:30"),
    ("daily", "'daily' needs a time of day; write e.g. daily 09:00"),
    ("daily 09:00 10:00", "'daily 09:00 10:00' names two times of day"),
    ("daily 09:00 on", "unexpected 'on' at the end of 'daily 09:00 on'; write daily 09:00"),
    ("mondey 09:00", "unknown schedule word 'mondey' in 'mondey 09:00' (did you mean 'monday 09:00'?)"),
    ("dayly 09:00", "(did you mean 'daily 09:00'?)"),
    ("fortnightly 09:00", "no 'every other week'; the closest is a weekly schedule such as monday 09:00"),
    ("zzz 09:00", "unknown schedule word 'zzz' in 'zzz 09:00'; write e.g. daily 09:00"),
    ("every 0m", "must be at least 1 minute"),
    ("every 90s", "seconds are not supported in 'every 90s'; the shortest interval is every 1m"),
    ("every 2 days", "intervals are counted in minutes or hours"),
    ("every 169h", "longer than a week"),
    ("every 5 parsecs", "unknown unit 'parsecs'"),
    ("every", "'every' is incomplete; write e.g. every 30m, every hour or every day at 09:00"),
    ("hourly 15", "'hourly 15' is ambiguous: for minute 15 of every hour write the cron expression '15 * * * *'"),
    ("monthly 32nd 08:00", "day 32 is out of range 1-31 in 'monthly 32nd 08:00'"),
    ("monthly 0 08:00", "day 0 is out of range 1-31"),
    ("monthly last 08:00", "'last' is not a day of the month"),
    ("monthly 08:00", "'monthly 08:00' needs a day of the month; write e.g. monthly 1st 08:00"),
    ("once 2027-02-30 10:00", "2027-02-30 is not a valid calendar date"),
    ("once 2027-1-5 10:00", "'2027-1-5' is not a date"),
    ("once 1969-12-31 10:00", "year 1969 is out of range"),
    ("once 2027-01-31", "'once 2027-01-31' needs a time of day; write e.g. once 2027-01-31 09:00"),
    ("once", "'once' is incomplete; write e.g. once 2027-01-31 10:00"),
    ("once 2027-01-31 10:00 sharp", "unexpected 'sharp' at the end of"),
    ("once tomorrow 10:00", "depends on today's date, so it cannot be stored as it is; write the date"),
    ("0 9 * *", "has 4 fields; a cron expression has 5"),
    ("0 0 9 * * 1", "has 6 fields; a cron expression has 5"),
    ("61 * * * *", "minute 61 is out of range 0-59 in '61 * * * *'"),
    ("0 24 * * *", "hour 24 is out of range 0-23"),
    ("0 0 32 * *", "day-of-month 32 is out of range 1-31"),
    ("0 0 * 13 *", "month 13 is out of range 1-12"),
    ("0 0 * * 8", "day-of-week 8 is out of range 0-7"),
    ("*/0 * * * *", "step '/0' in the minute field"),
    ("5-1 * * * *", "range 5-1 in the minute field of '5-1 * * * *' goes backwards"),
    ("0 0 30 2 *", "never runs"),
    ("0 9 L * *", "'L' is not a valid day-of-month"),
    ("0 9 * * 5#2", "'5#2' is not a valid day-of-week"),
    ("0 9 * * MON,", "'-' is not a valid day-of-week"),
    ("0 9 * FOO *", "'FOO' is not a valid month"),
    ("@reboot", "unknown cron alias '@reboot'"),
    ("@dayly", "(did you mean '@daily'?)"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_schedules_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code is ExitCode.USAGE_ERROR


NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "zone", "now", "stored"),
    [
        ("once tomorrow 10:00", "UTC", NOW, "once 2026-11-27 10:00"),
        ("once today 9:00", "UTC", NOW, "once 2026-11-26 09:00"),
        # It is already the 27th in Tokyo, still the 26th in Los Angeles.
        ("once tomorrow 10:00", "Asia/Tokyo", datetime(2026, 11, 26, 20, 0, tzinfo=UTC), "once 2026-11-28 10:00"),
        ("once tomorrow 10:00", "America/Los_Angeles", datetime(2026, 11, 27, 5, tzinfo=UTC), "once 2026-11-27 10:00"),
        ("once tomorrow 10:00", "UTC", datetime(2026, 12, 31, 12, 0, tzinfo=UTC), "once 2027-01-01 10:00"),
        ("Monday 9:00", "Europe/Berlin", NOW, "monday 09:00"),
        ("0 9 * * mon-fri", "Europe/Berlin", NOW, "0 9 * * MON-FRI"),
    ],
)  # fmt: skip
def test_normalize_resolves_relative_days_in_the_task_zone(text: str, zone: str, now: datetime, stored: str) -> None:
    assert normalize_schedule(text, zone, now) == stored


def test_normalize_checks_the_zone_and_the_schedule() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        normalize_schedule("daily 09:00", "Mars/Olympus", NOW)
    with pytest.raises(ScheduleError, match="hour 25"):
        normalize_schedule("once tomorrow 25:00", "UTC", NOW)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"])
def test_valid_zones(zone: str) -> None:
    assert validate_timezone(zone).key == zone


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("", "unknown time zone ''; use an IANA name such as Europe/Berlin"),
        ("../etc/passwd", "unknown time zone '../etc/passwd'"),
        ("/usr/share/zoneinfo/UTC", "unknown time zone"),
        ("Europe/../UTC", "unknown time zone"),
        ("europe/berlin", "unknown time zone 'europe/berlin'; zone names are case-sensitive: use Europe/Berlin"),
        ("utc", "unknown time zone 'utc'; zone names are case-sensitive: use UTC"),
        ("Europe/Berln", "did you mean Europe/Berlin?"),
        ("berlin", "unknown time zone 'berlin'; use the full IANA name Europe/Berlin"),
        ("new york", "use the full IANA name America/New_York"),
        ("GMT+1", "for a fixed offset of UTC+01:00 use Etc/GMT-1 (the Etc/GMT names count the other way round:"),
        ("UTC-5", "use Etc/GMT+5 (the Etc/GMT names count the other way round: Etc/GMT+5 is 5 hours behind UTC)"),
        ("+01:00", "use Etc/GMT-1"),
        ("UTC+0", "unknown time zone 'UTC+0'; use UTC"),
        ("UTC+5:30", "no zone name for a fixed offset of UTC+05:30; use the zone of a place"),
        ("UTC+15", "UTC+15:00 is not an offset any place uses"),
        ("CEST", "CEST is an abbreviation, not a zone name; use Europe/Berlin"),
        ("PST", "use America/Los_Angeles"),
        ("Nowhere/Special", "use an IANA name such as Europe/Berlin or UTC"),
    ],
)
def test_invalid_zones_suggest_a_name(zone: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        validate_timezone(zone)
    assert message in str(caught.value)
