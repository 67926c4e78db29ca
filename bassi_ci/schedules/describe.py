"""Schedules in words, for `schedule list/show/preview`."""

from __future__ import annotations

from bassi_ci.schedules.model import (
    WEEKDAY_NAMES,
    WEEKEND,
    WORKDAYS,
    Calendar,
    Interval,
    Once,
    Schedule,
)


def describe(schedule: Schedule) -> str:
    """E.g. "every Monday at 09:00", "every 30 minutes", "cron: 0 9 * * 1-5"."""
    if isinstance(schedule, Calendar):
        return f"{_days(schedule)} at {schedule.hour:02d}:{schedule.minute:02d}"
    if isinstance(schedule, Interval):
        return _interval(schedule)
    if isinstance(schedule, Once):
        return f"once on {schedule.at:%Y-%m-%d} at {schedule.at:%H:%M}"
    if schedule.text.startswith("@"):
        return f"cron: {schedule.text} ({schedule.expression})"
    return f"cron: {schedule.expression}"


def _days(schedule: Calendar) -> str:
    day = schedule.day_of_month
    if day is not None:
        # Days 29-31 do not occur in every month; say so where people read it.
        note = f" (only in months that have a day {day})" if day > 28 else ""
        return f"on day {day} of every month{note}"
    if schedule.weekdays == WORKDAYS:
        return "every weekday (Monday to Friday)"
    if schedule.weekdays == WEEKEND:
        return "every Saturday and Sunday"
    if schedule.weekdays:
        return "every " + " and ".join(WEEKDAY_NAMES[day] for day in schedule.weekdays)
    return "every day"


def _interval(schedule: Interval) -> str:
    if schedule.kind == "hourly":
        return "every hour, on the hour"
    minutes = schedule.minutes
    if minutes % 60 == 0:
        hours = minutes // 60
        words = "every hour" if hours == 1 else f"every {hours} hours"
    else:
        words = "every minute" if minutes == 1 else f"every {minutes} minutes"
    if schedule.clock_aligned:
        return words
    return f"{words}, counted from 1970-01-01 00:00 UTC"
