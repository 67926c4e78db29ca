"""Checking 5-field cron expressions and reading their fields.

Our own pass gives messages that name the field and the fix; cronsim then checks
the structure and whether the expression can ever match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from cronsim import CronSim, CronSimError

from bassi_ci.errors import ScheduleError

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_NUMBER = re.compile(r"[0-9]{1,3}", re.ASCII)

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


@dataclass(frozen=True)
class CronFields:
    """The values each field allows; weekdays use 0 for Sunday (7 is folded into 0)."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    days_and: bool  # cron's rule: if either day field starts with "*", both must match


def check_cron(fields: list[str], shown: str) -> None:
    """Raise ScheduleError unless `fields` (upper case) is a plain 5-field expression."""
    for index, value in enumerate(fields):
        for term in value.split(","):
            _check_term(term, index, shown)
    _check_with_cronsim(" ".join(fields), shown)


def cron_fields(expression: str) -> CronFields:
    """The allowed values of each field of an expression that `check_cron` accepted."""
    sim = CronSim(expression, datetime(2000, 1, 1))
    return CronFields(
        minutes=frozenset(sim.minutes),
        hours=frozenset(sim.hours),
        days=frozenset(sim.days),
        months=frozenset(sim.months),
        # check_cron refused L and #, so every weekday item is a plain number.
        weekdays=frozenset(day % 7 for day in sim.weekdays if isinstance(day, int)),
        days_and=sim.day_and,
    )


def _check_term(term: str, index: int, shown: str) -> None:
    name, high = FIELD_NAMES[index], _BOUNDS[index][1]
    base, slash, step = term.partition("/")
    if slash and not (_NUMBER.fullmatch(step) and 1 <= int(step) <= high):
        raise ScheduleError(f"step '/{step}' in the {name} field of '{shown}' must be a number from 1 to {high}")
    if base == "*":
        return
    ends = [_value(atom, index, shown) for atom in base.split("-")]
    if len(ends) > 2:
        raise ScheduleError(f"'{base}' in the {name} field of '{shown}' is not a range; write a-b")
    if len(ends) == 2 and ends[0] > ends[1]:
        raise ScheduleError(f"range {base} in the {name} field of '{shown}' goes backwards; write it low-high")


def _value(atom: str, index: int, shown: str) -> int:
    name, (low, high) = FIELD_NAMES[index], _BOUNDS[index]
    names = _MONTHS if index == 3 else _DAYS if index == 4 else ()
    if atom in names:
        return names.index(atom) + (1 if index == 3 else 0)
    if _NUMBER.fullmatch(atom):
        if not low <= int(atom) <= high:
            raise ScheduleError(f"{name} {int(atom)} is out of range {low}-{high} in '{shown}'")
        return int(atom)
    extra = f", names {names[0]}-{names[-1]}" if names else ""
    raise ScheduleError(
        f"'{atom or '-'}' is not a valid {name} in '{shown}'; use numbers {low}-{high}{extra},"
        " *, ranges a-b, lists a,b or steps */n"
    )


def _check_with_cronsim(expression: str, shown: str) -> None:
    try:
        CronSim(expression, datetime(2000, 1, 1))
    except CronSimError as exc:
        if "day-of-month" in str(exc):
            raise ScheduleError(
                f"'{shown}' never runs: that day of the month does not occur in the chosen months"
            ) from None
        raise ScheduleError(f"cron expression '{shown}' is not valid: {exc}") from None
