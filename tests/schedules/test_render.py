"""Renderers: cron lines, OnCalendar values, systemd timer settings, launchd keys, words."""

from __future__ import annotations

import plistlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules import (
    describe,
    next_runs,
    parse_schedule,
    systemd_timer_spec,
    to_cron,
    to_launchd,
    to_oncalendar,
)
from tests.schedules.helpers import RENDERED


@pytest.mark.parametrize(("text", "cron", "calendar"), RENDERED)
def test_cron_and_oncalendar(text: str, cron: str, calendar: str) -> None:
    schedule = parse_schedule(text)
    assert to_cron(schedule) == cron
    assert to_oncalendar(schedule, "Europe/Berlin") == f"{calendar} Europe/Berlin"
    assert systemd_timer_spec(schedule, "Europe/Berlin") == {"OnCalendar": f"{calendar} Europe/Berlin"}


@pytest.mark.parametrize(("text", "cron", "calendar"), RENDERED)
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/St_Johns"])
def test_cron_lines_run_like_the_engine(text: str, cron: str, calendar: str, zone: str) -> None:
    # A summer start keeps the first runs away from DST changes, where cron differs.
    schedule = parse_schedule(text)
    start = datetime(2027, 6, 1, 9, 0, tzinfo=UTC).astimezone(ZoneInfo(zone))
    expected = [t.astimezone(UTC) for _, t in zip(range(6), CronSim(to_cron(schedule), start), strict=False)]
    assert [t.astimezone(UTC) for t in next_runs(schedule, zone, start, 6)] == expected


def test_once_renders_as_a_dated_calendar_event_only() -> None:
    once = parse_schedule("once 2027-01-31 10:00")
    assert to_oncalendar(once, "America/New_York") == "2027-01-31 10:00:00 America/New_York"
    with pytest.raises(ScheduleError, match="runs once and cannot be written as a cron expression"):
        to_cron(once)
    with pytest.raises(ScheduleError, match="launchd calendar entries have no year"):
        to_launchd(once)


def test_fixed_intervals_have_no_calendar_form() -> None:
    every_90m = parse_schedule("every 90m")
    with pytest.raises(ScheduleError) as caught:
        to_cron(every_90m)
    assert "use every 1h or every 2h, or a cron expression such as '0 */2 * * *'" in str(caught.value)
    with pytest.raises(ScheduleError, match="cannot be written as a systemd OnCalendar= value"):
        to_oncalendar(every_90m, "UTC")
    assert systemd_timer_spec(every_90m, "UTC") == {"OnActiveSec": "90min", "OnUnitActiveSec": "90min"}
    assert to_launchd(every_90m) == {"StartInterval": 5400}
    assert to_launchd(parse_schedule("every 7h")) == {"StartInterval": 25200}
    with pytest.raises(ScheduleError, match="use every 30m or every 1h"):
        to_cron(parse_schedule("every 45m"))


@pytest.mark.parametrize("text", ["every 25h", "every 48h", "every 168h"])
def test_intervals_longer_than_a_day_name_one_shorter_interval_and_calendar_forms(text: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        to_cron(parse_schedule(text))
    message = str(caught.value)
    assert "every 24h or every 24h" not in message
    assert f"'{text}' is longer than a day and does not follow the calendar, so it cannot be written as" in message
    assert message.endswith("; use every 24h, or a calendar schedule such as daily 09:00 or monday 09:00")


def test_day_of_month_or_day_of_week_has_no_single_oncalendar() -> None:
    either = parse_schedule("0 9 1 * MON")
    with pytest.raises(ScheduleError, match="day-of-month OR a day-of-week"):
        to_oncalendar(either, "UTC")
    assert to_launchd(either) == {
        "StartCalendarInterval": [{"Day": 1, "Hour": 9, "Minute": 0}, {"Weekday": 1, "Hour": 9, "Minute": 0}]
    }


def test_oncalendar_checks_the_zone() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone"):
        to_oncalendar(parse_schedule("daily 09:00"), "Berlin")


LAUNCHD = [
    ("daily 14:30", [{"Hour": 14, "Minute": 30}]),
    ("monday 09:00", [{"Weekday": 1, "Hour": 9, "Minute": 0}]),
    ("weekends 10:00", [{"Weekday": 0, "Hour": 10, "Minute": 0}, {"Weekday": 6, "Hour": 10, "Minute": 0}]),
    ("monthly 31st 08:00", [{"Day": 31, "Hour": 8, "Minute": 0}]),
    ("every 30m", [{"Minute": 0}, {"Minute": 30}]),
    ("hourly", [{"Minute": 0}]),
    ("every 1m", [{}]),
    ("every 12h", [{"Hour": 0, "Minute": 0}, {"Hour": 12, "Minute": 0}]),
    ("@yearly", [{"Day": 1, "Month": 1, "Hour": 0, "Minute": 0}]),
    ("5 4 * * 7", [{"Weekday": 0, "Hour": 4, "Minute": 5}]),
]


@pytest.mark.parametrize(("text", "entries"), LAUNCHD)
def test_launchd_calendar_entries(text: str, entries: list[dict[str, int]]) -> None:
    assert to_launchd(parse_schedule(text)) == {"StartCalendarInterval": entries}


@pytest.mark.parametrize("text", [text for text, *_ in RENDERED] + ["every 90m", "0 9 1 * MON"])
@pytest.mark.parametrize("fmt", [plistlib.FMT_XML, plistlib.FMT_BINARY])
def test_launchd_keys_round_trip_through_plistlib(text: str, fmt: plistlib.PlistFormat) -> None:
    keys = to_launchd(parse_schedule(text))
    assert plistlib.loads(plistlib.dumps({"Label": "dev.bassi.test", **keys}, fmt=fmt)) == {
        "Label": "dev.bassi.test",
        **keys,
    }


def test_launchd_refuses_what_it_cannot_say() -> None:
    with pytest.raises(ScheduleError, match="day-of-month AND a day-of-week"):
        to_launchd(parse_schedule("0 0 */2 * 1"))
    with pytest.raises(ScheduleError, match="launchd calendar entries \\(at most 1000\\)"):
        to_launchd(parse_schedule("0-58 0-22 1-30 * *"))


DESCRIBED = [
    ("daily 14:30", "every day at 14:30"),
    ("monday 09:00", "every Monday at 09:00"),
    ("weekdays 09:00", "every weekday (Monday to Friday) at 09:00"),
    ("weekends 10:00", "every Saturday and Sunday at 10:00"),
    ("monthly 1st 08:00", "on day 1 of every month at 08:00"),
    ("monthly 31st 08:00", "on day 31 of every month (only in months that have a day 31) at 08:00"),
    ("every 30m", "every 30 minutes"),
    ("every 1m", "every minute"),
    ("every 2h", "every 2 hours"),
    ("every 90m", "every 90 minutes, counted from 1970-01-01 00:00 UTC"),
    ("hourly", "every hour, on the hour"),
    ("once 2027-01-31 10:00", "once on 2027-01-31 at 10:00"),
    ("0 9 * * 1-5", "cron: 0 9 * * 1-5"),
    ("@daily", "cron: @daily (0 0 * * *)"),
]


@pytest.mark.parametrize(("text", "words"), DESCRIBED)
def test_describe(text: str, words: str) -> None:
    assert describe(parse_schedule(text)) == words
