"""Schedules as cron lines, systemd timer settings and launchd plist keys.

All calendar forms are read back from the schedule's cron expression (via cronsim's
field parser), so every renderer sees exactly the wall-clock pattern the engine runs.
Times are wall-clock times in the task's zone: OnCalendar carries the zone itself,
while cron and launchd lines must run in that zone (the installer's concern).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import product

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules.cronfields import CronFields, cron_fields
from bassi_ci.schedules.model import Interval, Once, Schedule, calendar_expression
from bassi_ci.schedules.zones import validate_timezone

_ALIGNED_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440)
_SYSTEMD_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MAX_LAUNCHD_ENTRIES = 1000


def to_cron(schedule: Schedule) -> str:
    """A 5-field cron expression (wall-clock in the task's zone)."""
    return _expression(schedule, "a cron expression")


def to_oncalendar(schedule: Schedule, tz: str) -> str:
    """A systemd OnCalendar= value with the zone, e.g. "Mon *-*-* 09:00:00 Europe/Berlin"."""
    validate_timezone(tz)
    if isinstance(schedule, Once):
        return f"{schedule.at:%Y-%m-%d %H:%M}:00 {tz}"
    fields = cron_fields(_expression(schedule, "a systemd OnCalendar= value"))
    weekdays, days = _systemd_days(fields, schedule.text)
    time = f"{_numbers(fields.hours, 0, 23)}:{_numbers(fields.minutes, 0, 59)}:00"
    date = f"*-{_numbers(fields.months, 1, 12)}-{days}"
    return " ".join(part for part in (weekdays, date, time, tz) if part)


def systemd_timer_spec(schedule: Schedule, tz: str) -> dict[str, str]:
    """The [Timer] settings: OnCalendar=, or monotonic settings for fixed intervals."""
    if isinstance(schedule, Interval) and not schedule.clock_aligned:
        # Monotonic timers count from activation, not from the engine's 1970 anchor.
        every = f"{schedule.minutes}min"
        return {"OnActiveSec": every, "OnUnitActiveSec": every}
    return {"OnCalendar": to_oncalendar(schedule, tz)}


def to_launchd(schedule: Schedule) -> dict[str, object]:
    """launchd plist keys: StartCalendarInterval entries, or StartInterval in seconds."""
    if isinstance(schedule, Interval) and not schedule.clock_aligned:
        return {"StartInterval": schedule.minutes * 60}
    if isinstance(schedule, Once):
        raise ScheduleError(
            f"'{schedule.text}' runs once, and launchd calendar entries have no year;"
            " use a repeating schedule or run it with bassi execute"
        )
    fields = cron_fields(_expression(schedule, "launchd calendar entries"))
    return {"StartCalendarInterval": _launchd_entries(fields, schedule.text)}


def _expression(schedule: Schedule, target: str) -> str:
    expression = calendar_expression(schedule)
    if expression is not None:
        return expression
    if isinstance(schedule, Once):
        raise ScheduleError(f"'{schedule.text}' runs once and cannot be written as {target}, which repeats")
    assert isinstance(schedule, Interval)
    raise ScheduleError(_interval_hint(schedule, target))


def _interval_hint(schedule: Interval, target: str) -> str:
    lower = max(m for m in _ALIGNED_MINUTES if m < schedule.minutes)
    upper = min((m for m in _ALIGNED_MINUTES if m > schedule.minutes), default=None)
    if upper is None:  # longer than a day: the closest calendar forms run daily or weekly
        return (
            f"'{schedule.text}' is longer than a day and does not follow the calendar, so it cannot be"
            f" written as {target}; use {_every(lower)}, or a calendar schedule such as daily 09:00 or monday 09:00"
        )
    example = Interval(text="", minutes=upper)
    return (
        f"'{schedule.text}' does not divide an hour or a day, so it cannot be written as"
        f" {target}; use {_every(lower)} or {_every(upper)}, or a cron expression such as"
        f" '{calendar_expression(example)}'"
    )


def _every(minutes: int) -> str:
    return f"every {minutes // 60}h" if minutes % 60 == 0 else f"every {minutes}m"


def _systemd_days(fields: CronFields, text: str) -> tuple[str, str]:
    every_date, every_weekday = len(fields.days) == 31, len(fields.weekdays) == 7
    if not fields.days_and and not (every_date or every_weekday):
        raise ScheduleError(
            f"'{text}' runs on a day-of-month OR a day-of-week, which one systemd calendar"
            " value cannot say; split it into two tasks, one per day field"
        )
    if not fields.days_and:
        return "", "*"  # "any date OR some weekdays" is every day
    weekdays = "" if every_weekday else _weekday_names(fields.weekdays)
    return weekdays, _numbers(fields.days, 1, 31)


def _weekday_names(cron_days: frozenset[int]) -> str:
    # systemd weeks start on Monday; cron numbers Sunday as 0.
    ordered = sorted((day - 1) % 7 for day in cron_days)
    return ",".join(_runs(ordered, lambda index: _SYSTEMD_DAYS[index]))


def _numbers(values: frozenset[int], low: int, high: int) -> str:
    ordered = sorted(values)
    if len(ordered) == high - low + 1:
        return "*"
    step = ordered[1] - ordered[0] if len(ordered) > 1 else 0
    # "00/30" when the values repeat evenly through the whole field, as people write it.
    even = step > 1 and ordered[0] - low < step and (high - low + 1) % step == 0
    if even and ordered == list(range(ordered[0], high + 1, step)):
        return f"{ordered[0]:02d}/{step}"
    return ",".join(_runs(ordered, lambda value: f"{value:02d}"))


def _runs(ordered: list[int], show: Callable[[int], str]) -> list[str]:
    """Consecutive values of three or more as "a..b", the rest one by one."""
    parts: list[str] = []
    start = 0
    for index in range(1, len(ordered) + 1):
        if index == len(ordered) or ordered[index] != ordered[index - 1] + 1:
            run = ordered[start:index]
            parts += [f"{show(run[0])}..{show(run[-1])}"] if len(run) >= 3 else map(show, run)
            start = index
    return parts


def _launchd_entries(fields: CronFields, text: str) -> list[dict[str, int]]:
    every_date, every_weekday = len(fields.days) == 31, len(fields.weekdays) == 7
    shared: list[_Key] = [
        ("Month", fields.months, 12),
        ("Hour", fields.hours, 24),
        ("Minute", fields.minutes, 60),
    ]
    day_key: _Key = ("Day", fields.days, 31)
    weekday_key: _Key = ("Weekday", fields.weekdays, 7)
    if every_date or every_weekday:
        # Missing keys mean "any"; under cron's OR rule an unrestricted field means every day.
        keys = [day_key, weekday_key] if fields.days_and else []
        return _product([*keys, *shared], text)
    if fields.days_and:
        raise ScheduleError(
            f"'{text}' needs a day-of-month AND a day-of-week to match, which launchd"
            " cannot say; restrict only one of the two day fields"
        )
    # cron's OR rule: days that match either field, one set of entries per field.
    return _product([day_key, *shared], text) + _product([weekday_key, *shared], text)


_Key = tuple[str, frozenset[int], int]


def _product(keys: list[_Key], text: str) -> list[dict[str, int]]:
    # A key that allows every value is left out: launchd treats a missing key as "any".
    limited = [(name, sorted(values)) for name, values, size in keys if len(values) < size]
    count = math.prod(len(values) for _, values in limited)
    if count > _MAX_LAUNCHD_ENTRIES:
        raise ScheduleError(
            f"'{text}' needs {count} launchd calendar entries (at most {_MAX_LAUNCHD_ENTRIES});"
            " use fewer values per field or an interval such as every 30m"
        )
    names = [name for name, _ in limited]
    return [dict(zip(names, combo, strict=True)) for combo in product(*(v for _, v in limited))]
