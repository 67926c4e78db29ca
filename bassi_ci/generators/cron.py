"""A task's schedule as the 5-field cron expression CI systems understand."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from bassi_ci.errors import ScheduleError
from bassi_ci.generators.files import GenerateError
from bassi_ci.schedules import parse_schedule, to_cron
from bassi_ci.tasks.model import Task


@dataclass(frozen=True)
class CronSpec:
    expression: str  # wall-clock time in `timezone`
    timezone: str
    kind: str  # the schedule's kind: "daily", "interval", "hourly", "cron", ...


def task_cron(task: Task) -> CronSpec | None:
    """The cron form of an enabled task's schedule; None when it has no schedule or is paused."""
    if task.schedule is None or not task.enabled:
        return None
    where = f"task '{task.id}'" + (f" ({task.source})" if task.source else "")
    try:
        schedule = parse_schedule(task.schedule)
        if schedule.kind == "once":
            raise ScheduleError(
                f"'{task.schedule}' runs once; CI schedules repeat, so start its job by hand "
                "or give it a repeating schedule"
            )
        expression = to_cron(schedule)
    except ScheduleError as exc:
        raise GenerateError(f"{where}: schedule: {exc}") from None
    return CronSpec(expression=expression, timezone=task.timezone or "UTC", kind=schedule.kind)


def min_gap_minutes(expression: str) -> int:
    """The shortest time between two runs of a cron expression, in minutes (at most 60 is checked)."""
    minute_field, hour_field = expression.split()[:2]
    minutes = sorted(expand_field(minute_field, 0, 59))
    hours = expand_field(hour_field, 0, 23)
    gaps = [b - a for a, b in itertools.pairwise(minutes)]
    if any((hour + 1) % 24 in hours for hour in hours):
        gaps.append(60 - minutes[-1] + minutes[0])
    return min(gaps, default=60)


def expand_field(field: str, low: int, high: int) -> set[int]:
    """The values a numeric cron field matches: '*', 'a', 'a-b', with '/step', comma lists."""
    values: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = int(first), int(last)
        else:
            start = int(base)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return values
