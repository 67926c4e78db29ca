"""A task's wall times seen from another zone: what a scheduler without zones must wake at.

launchd (and a cron without CRON_TZ) matches its calendar against the machine's wall clock.
A task in another zone fires at its own wall times, which land on different machine wall
times as the two zones change their offsets, on different dates (Berlin 09:00 is New York
03:00 most of the year, and 04:00 in the weeks where only one side has changed).

`machine_times` returns cron expressions in the machine's zone whose union holds every
machine wall time at which the task can fire over the next few years:

* for every offset between the two zones that occurs in that window (found at the exact
  instants either zone changes), the task's pattern moved by that offset; a move across
  midnight moves the day fields too, widened where month lengths make the day uncertain
  (the 1st minus a day is the 28th to the 31st);
* the instants where the task's own DST policy bridges a spring-forward gap (a 02:30 run
  happens at 03:00): that instant's machine wall time, in that month, on that weekday.

It is a superset: the scheduler wakes at all of them, and the due-guard
(bassi_ci.scheduling.due) lets through only the wake-ups at which the task is really due.
That stays right across every DST change and every year while the zones' rules hold; a new
tz database with different rules, or a machine moved to another zone, needs a re-install.

One gap no calendar can close: launchd and cron fire a wall time once, at its first
occurrence, so a task instant inside the second pass of the machine's fall-back hour is
not woken for (see the launchd tests, which pin that case).

Pure functions; shared by the launchd and cron backends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules import next_runs, validate_timezone
from bassi_ci.schedules.cronfields import CronFields, cron_fields
from bassi_ci.schedules.model import Schedule, calendar_expression

# Zone rules are followed this far ahead; beyond it they are assumed to repeat.
YEARS = 3
# No zone keeps an offset for less than this (the scan finds each change, then bisects it).
_SCAN_STEP = timedelta(hours=6)


@dataclass(frozen=True)
class MachineTimes:
    """The machine-zone calendar that covers every run of a task in another zone."""

    expressions: tuple[str, ...]  # 5-field cron expressions in the machine's zone
    shifts: tuple[int, ...]  # machine offset minus task offset, in minutes, as they occur
    exact: bool  # the zones never differ and no gap is bridged: the task's own pattern fires exactly


@dataclass(frozen=True)
class _Times:
    """Minutes x hours on days given by the three day fields (already cron text)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: tuple[str, str, str]  # day-of-month, month, day-of-week

    def expression(self) -> str:
        return " ".join((_field(self.minutes, 60), _field(self.hours, 24), *self.days))


def machine_times(
    schedule: Schedule, task_zone: str, machine_zone: str, start: datetime, years: int = YEARS
) -> MachineTimes:
    """The machine-zone expressions covering every run of `schedule` (in `task_zone`) from `start` on."""
    expression = calendar_expression(schedule)
    if expression is None:
        raise ScheduleError(f"'{schedule.text}' does not follow the calendar, so it has no wall times to translate")
    task, machine = validate_timezone(task_zone), validate_timezone(machine_zone)
    end = start + timedelta(days=366 * years)
    task_changes = transitions(task, start, end)
    changes = sorted({*task_changes, *transitions(machine, start, end)})
    shifts = sorted({_shift(task, machine, moment) for moment in (start, *changes)})
    fields = cron_fields(expression)
    times = _merge([part for shift in shifts for part in _shifted(fields, shift)])
    expressions = [expr for expr in dict.fromkeys(part.expression() for part in times) if _can_match(expr)]
    bridged = _bridged_gaps(schedule, task_zone, machine, task_changes, expressions)
    exact = shifts == [0] and not bridged
    return MachineTimes((expression,) if exact else (*expressions, *bridged), tuple(shifts), exact)


def transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in [start, end) at which `zone` changes its UTC offset (to the second)."""
    found: list[datetime] = []
    moment, offset = start, _offset(zone, start)
    while moment < end:
        following = min(moment + _SCAN_STEP, end)
        if _offset(zone, following) != offset:
            found.append(_first_with_new_offset(zone, moment, following))
            offset = _offset(zone, following)
        moment = following
    return found


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta | None:
    return moment.astimezone(zone).utcoffset()


def _first_with_new_offset(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    old = _offset(zone, before)
    low, high = 0, int((after - before).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(zone, before + timedelta(seconds=middle)) == old:
            low = middle
        else:
            high = middle
    return before + timedelta(seconds=high)


def _shift(task: ZoneInfo, machine: ZoneInfo, moment: datetime) -> int:
    difference = (_offset(machine, moment) or timedelta()) - (_offset(task, moment) or timedelta())
    return int(difference.total_seconds()) // 60


def _shifted(fields: CronFields, shift: int) -> list[_Times]:
    """The pattern moved by `shift` minutes, as products of minutes x hours on (moved) days.

    Each group shares a minute carry and a day carry, so within it every minute goes with every
    hour, as in the original pattern.
    """
    hour_shift, minute_shift = divmod(shift, 60)
    groups: dict[tuple[int, int], tuple[set[int], set[int]]] = {}
    for minute in fields.minutes:
        carry, new_minute = divmod(minute + minute_shift, 60)
        for hour in fields.hours:
            day_shift, new_hour = divmod(hour + hour_shift + carry, 24)
            minutes, hours = groups.setdefault((carry, day_shift), (set(), set()))
            minutes.add(new_minute)
            hours.add(new_hour)
    return [
        _Times(frozenset(minutes), frozenset(hours), _moved_days(fields, day_shift))
        for (_, day_shift), (minutes, hours) in sorted(groups.items())
    ]


def _moved_days(fields: CronFields, day_shift: int) -> tuple[str, str, str]:
    """Day-of-month, month and day-of-week fields for runs moved by `day_shift` days."""
    every_date, every_weekday = len(fields.days) == 31, len(fields.weekdays) == 7
    if fields.days_and and not (every_date or every_weekday):
        raise ScheduleError(
            "a day-of-month AND a day-of-week that must both match cannot be moved to another zone;"
            " restrict only one of the two day fields"
        )
    days, crosses_month = _moved_dates(fields.days, day_shift)
    weekdays = {(day + day_shift) % 7 for day in fields.weekdays}
    months = set(fields.months)
    if day_shift and (every_date or crosses_month):
        step = 1 if day_shift > 0 else -1
        months |= {(month - 1 + step) % 12 + 1 for month in fields.months}
    return _field(days, 31), _field(months, 12), _field(weekdays, 7)


def _moved_dates(days: frozenset[int], day_shift: int) -> tuple[set[int], bool]:
    """Dates `day_shift` days later; past the 28th a date may be in the next month, and before
    the 1st it is one of the previous month's last days, whose number depends on the month."""
    if len(days) == 31 or day_shift == 0:
        return set(days), False
    moved: set[int] = set()
    crosses = False
    for day in days:
        target = day + day_shift
        if 1 <= target <= 31:
            moved.add(target)
        if target > 28:
            moved |= set(range(1, target - 28 + 1))
            crosses = True
        elif target < 1:
            moved |= set(range(28 + target, 31 + target + 1))
            crosses = True
    return moved, crosses


def _merge(parts: Iterable[_Times]) -> list[_Times]:
    """Join groups on the same days that share their minutes (or hours): fewer, wider entries."""
    merged: list[_Times] = []
    for part in parts:
        merged.append(part)
        while len(merged) > 1 and (joined := _join_last(merged)) is not None:
            merged = joined
    return merged


def _join_last(merged: list[_Times]) -> list[_Times] | None:
    last = merged[-1]
    for index, other in enumerate(merged[:-1]):
        if other.days != last.days:
            continue
        if other.minutes == last.minutes:
            union = _Times(other.minutes, other.hours | last.hours, other.days)
        elif other.hours == last.hours:
            union = _Times(other.minutes | last.minutes, other.hours, other.days)
        else:
            continue
        return [*merged[:index], *merged[index + 1 : -1], union]
    return None


def _bridged_gaps(
    schedule: Schedule, task_zone: str, machine: ZoneInfo, task_changes: list[datetime], expressions: list[str]
) -> list[str]:
    """Expressions for runs the DST policy moves to the end of a spring-forward gap of the task's zone."""
    task = ZoneInfo(task_zone)
    bridged: list[str] = []
    for change in task_changes:
        before = change - timedelta(seconds=1)
        springs_forward = (_offset(task, change) or timedelta()) > (_offset(task, before) or timedelta())
        if not springs_forward or next_runs(schedule, task_zone, before, 1) != [change]:
            continue
        wall = change.astimezone(machine).replace(tzinfo=None)
        if any(matches(expr, wall) for expr in (*expressions, *bridged)):
            continue
        bridged.append(f"{wall.minute} {wall.hour} * {wall.month} {wall.isoweekday() % 7}")
    return bridged


def matches(expression: str, wall: datetime) -> bool:
    """Whether the naive wall time `wall` (whole minute) is one of the expression's times."""
    return next(iter(CronSim(expression, wall - timedelta(minutes=1)))) == wall


def _can_match(expression: str) -> bool:
    # Moving day 31 into a month list can leave a combination that never occurs; it needs no entry.
    try:
        CronSim(expression, datetime(2000, 1, 1))
    except CronSimError:
        return False
    return True


def _field(values: Iterable[int], size: int) -> str:
    ordered = sorted(set(values))
    return "*" if len(ordered) == size else ",".join(str(value) for value in ordered)
