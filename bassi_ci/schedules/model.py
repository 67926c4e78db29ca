"""The parsed forms of a schedule.

Each form keeps its canonical `text` (what a task file stores) and a `kind` word.
Wall-clock values are naive: they mean "this time in the task's zone", and only
become instants in `nextrun`, where the DST policy lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

# Cron numbering: 0 is Sunday, so weekday sets can be written into cron fields as is.
WEEKDAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
WORKDAYS = (1, 2, 3, 4, 5)
WEEKEND = (0, 6)


@dataclass(frozen=True)
class Calendar:
    """One wall-clock time on matching days: `daily`, `monday`/`weekdays`, `monthly`."""

    text: str
    kind: str  # "daily", "weekly" or "monthly"
    hour: int
    minute: int
    weekdays: tuple[int, ...] = ()  # cron numbering; empty means every day
    day_of_month: int | None = None


@dataclass(frozen=True)
class Interval:
    """`every N m/h` and `hourly`."""

    text: str
    minutes: int
    kind: str = "interval"  # or "hourly"

    @property
    def clock_aligned(self) -> bool:
        """True when the interval divides an hour or a day, so it can follow the clock."""
        if self.minutes < 60:
            return 60 % self.minutes == 0
        return self.minutes % 60 == 0 and 24 % (self.minutes // 60) == 0


@dataclass(frozen=True)
class Once:
    """A single run at a wall-clock date and time."""

    text: str
    at: datetime  # naive: wall-clock time in the task's zone
    kind: str = "once"


@dataclass(frozen=True)
class Cron:
    """A 5-field cron expression (wall-clock in the task's zone) or an `@alias`."""

    text: str
    expression: str  # five fields, aliases expanded
    kind: str = "cron"


Schedule: TypeAlias = Calendar | Interval | Once | Cron


def calendar_expression(schedule: Schedule) -> str | None:
    """The cron expression whose wall-clock matches are this schedule's runs.

    None for schedules that are not calendar patterns: `once` and intervals
    that do not divide an hour or a day.
    """
    if isinstance(schedule, Cron):
        return schedule.expression
    if isinstance(schedule, Calendar):
        day = "*" if schedule.day_of_month is None else str(schedule.day_of_month)
        weekdays = "1-5" if schedule.weekdays == WORKDAYS else ",".join(map(str, schedule.weekdays))
        weekdays = weekdays or "*"
        return f"{schedule.minute} {schedule.hour} {day} * {weekdays}"
    if isinstance(schedule, Interval) and schedule.clock_aligned:
        return _aligned_expression(schedule.minutes)
    return None


def _aligned_expression(minutes: int) -> str:
    if minutes < 60:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    hours = minutes // 60
    if hours == 1:
        return "0 * * * *"
    return "0 0 * * *" if hours == 24 else f"0 */{hours} * * *"
