"""The schedule DSL: text in, a `Schedule` with its canonical text out.

Grammar (case-insensitive, extra whitespace ignored; times are 24-hour H:MM or HH:MM):

    daily HH:MM
    monday HH:MM           any weekday: full name, 3 letters or plural ("mondays")
    weekdays HH:MM         Monday to Friday;  weekends HH:MM: Saturday and Sunday
    monthly 1st HH:MM      or "monthly 15 HH:MM"; days 1-31
    every 30m | every 2h   also "every 45 minutes", "every 3 hours"; 1 minute to 1 week
    hourly                 minute 0 of every hour
    once YYYY-MM-DD HH:MM
    once tomorrow HH:MM    (and "once today"): relative, so only `normalize_schedule`
                           accepts it; it stores the resolved date
    any 5-field cron expression, and @hourly @daily @midnight @weekly @monthly
    @yearly @annually

`monthly 29th`-`31st` run only in months that have that day (like cron `0 8 31 * *`
and systemd `*-*-31`); they are not moved to the last day of shorter months.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules.cronfields import ALIASES, check_cron
from bassi_ci.schedules.model import WEEKEND, WORKDAYS, Calendar, Cron, Interval, Once, Schedule
from bassi_ci.schedules.zones import validate_timezone

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DAY = re.compile(r"([0-9]{1,2})(st|nd|rd|th)?", re.ASCII)
_INTERVAL = re.compile(r"([0-9]{1,6}) ?([a-z]+)", re.ASCII)
_CRON_WORD = re.compile(r"[0-9*][0-9a-z*/,\-]*", re.ASCII)
_MINUTE_UNITS = ("m", "min", "mins", "minute", "minutes")
_HOUR_UNITS = ("h", "hr", "hrs", "hour", "hours")
_MAX_INTERVAL_MINUTES = 7 * 24 * 60
_RELATIVE_DAYS = {"today": 0, "tomorrow": 1}

_WEEKDAYS: dict[str, int] = {}
for _number, _name in enumerate(("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")):
    _WEEKDAYS.update({_name: _number, _name[:3]: _number, _name + "s": _number})

EXAMPLES = (
    "daily 09:00, monday 09:00, weekdays 09:00, monthly 1st 08:00, every 30m, hourly,"
    " once 2027-01-31 10:00 or a cron expression like '0 9 * * 1-5'"
)


@functools.lru_cache(maxsize=4096)  # listing 1,000 tasks parses the same few texts again and again
def parse_schedule(text: str) -> Schedule:
    """Parse schedule text; raise ScheduleError saying what is wrong and how to fix it."""
    words = text.lower().split()
    shown = " ".join(text.split())
    if not words:
        raise ScheduleError(f"the schedule is empty; write e.g. {EXAMPLES}")
    head = words[0]
    if head.startswith("@"):
        return _parse_alias(words, shown)
    if _CRON_WORD.fullmatch(head) and ":" not in head:
        return _parse_cron(words, shown)
    parser = _PARSERS.get(head)
    if parser is None and head in _WEEKDAYS:
        parser = _parse_weekday
    if parser is None:
        raise ScheduleError(_unknown_word(head, shown))
    return parser(words, shown)


def normalize_schedule(text: str, tz: str, now: datetime) -> str:
    """The canonical text to store: `once tomorrow 10:00` becomes a dated `once`.

    "today"/"tomorrow" are read as dates in zone `tz` at the aware time `now`.
    """
    zone = validate_timezone(tz)
    words = text.lower().split()
    if len(words) == 3 and words[0] == "once" and words[1] in _RELATIVE_DAYS:
        if now.tzinfo is None:
            raise ScheduleError("the current time must carry a time zone to resolve 'once'")
        day = now.astimezone(zone).date() + timedelta(days=_RELATIVE_DAYS[words[1]])
        text = f"once {day.isoformat()} {words[2]}"
    return parse_schedule(text).text


def _parse_alias(words: list[str], shown: str) -> Cron:
    _expect_words(words, 1, words[0], shown)
    if words[0] not in ALIASES:
        hint = _suggest(words[0], list(ALIASES))
        raise ScheduleError(f"unknown cron alias '{words[0]}' in '{shown}'{hint}; use one of {', '.join(ALIASES)}")
    return Cron(text=words[0], expression=ALIASES[words[0]])


def _parse_cron(words: list[str], shown: str) -> Cron:
    if len(words) != 5:
        raise ScheduleError(
            f"'{shown}' has {len(words)} fields; a cron expression has 5"
            " (minute hour day-of-month month day-of-week), without seconds or years"
        )
    fields = [word.upper() for word in words]
    check_cron(fields, shown)
    expression = " ".join(fields)
    return Cron(text=expression, expression=expression)


def _parse_daily(words: list[str], shown: str) -> Calendar:
    _expect_words(words, 2, "daily HH:MM", shown)
    hour, minute = _parse_time(words[1], shown)
    return Calendar(f"daily {hour:02d}:{minute:02d}", "daily", hour, minute)


def _parse_weekday(words: list[str], shown: str) -> Calendar:
    day = _WEEKDAYS[words[0]]
    name = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")[day]
    return _weekly(words, shown, name, (day,))


def _parse_workdays(words: list[str], shown: str) -> Calendar:
    return _weekly(words, shown, "weekdays", WORKDAYS)


def _parse_weekends(words: list[str], shown: str) -> Calendar:
    return _weekly(words, shown, "weekends", WEEKEND)


def _weekly(words: list[str], shown: str, name: str, days: tuple[int, ...]) -> Calendar:
    _expect_words(words, 2, f"{name} HH:MM", shown)
    hour, minute = _parse_time(words[1], shown)
    return Calendar(f"{name} {hour:02d}:{minute:02d}", "weekly", hour, minute, weekdays=days)


def _parse_monthly(words: list[str], shown: str) -> Calendar:
    _expect_words(words, 3, "monthly 1st HH:MM", shown)
    match = _DAY.fullmatch(words[1])
    if match is None:
        raise ScheduleError(f"'{words[1]}' is not a day of the month in '{shown}'; write e.g. monthly 1st 08:00")
    day = int(match.group(1))
    if not 1 <= day <= 31:
        raise ScheduleError(f"day {day} is out of range 1-31 in '{shown}'")
    hour, minute = _parse_time(words[2], shown)
    text = f"monthly {_ordinal(day)} {hour:02d}:{minute:02d}"
    return Calendar(text, "monthly", hour, minute, day_of_month=day)


def _parse_every(words: list[str], shown: str) -> Interval:
    match = _INTERVAL.fullmatch(" ".join(words[1:]))
    if match is None:
        raise ScheduleError(f"write an interval as a number and a unit in '{shown}', e.g. every 30m or every 2h")
    number, unit = int(match.group(1)), match.group(2)
    minutes = number * _unit_minutes(unit, shown)
    if minutes < 1:
        raise ScheduleError(f"the interval in '{shown}' must be at least 1 minute (every 1m)")
    if minutes > _MAX_INTERVAL_MINUTES:
        raise ScheduleError(
            f"the interval in '{shown}' is longer than a week; use a calendar schedule"
            " such as monday 09:00 or monthly 1st 09:00"
        )
    text = f"every {minutes // 60}h" if minutes % 60 == 0 else f"every {minutes}m"
    return Interval(text=text, minutes=minutes)


def _unit_minutes(unit: str, shown: str) -> int:
    if unit in _MINUTE_UNITS:
        return 1
    if unit in _HOUR_UNITS:
        return 60
    if unit in ("s", "sec", "secs", "second", "seconds"):
        raise ScheduleError(f"seconds are not supported in '{shown}'; the shortest interval is every 1m")
    if unit in ("d", "day", "days", "w", "week", "weeks"):
        raise ScheduleError(
            f"'{shown}': intervals are counted in minutes or hours; for days use"
            " a calendar schedule such as daily 09:00 or monday 09:00"
        )
    hint = _suggest(unit, [*_MINUTE_UNITS, *_HOUR_UNITS])
    raise ScheduleError(f"unknown unit '{unit}' in '{shown}'{hint}; use m (minutes) or h (hours)")


def _parse_hourly(words: list[str], shown: str) -> Interval:
    _expect_words(words, 1, "hourly", shown)
    return Interval(text="hourly", minutes=60, kind="hourly")


def _parse_once(words: list[str], shown: str) -> Once:
    _expect_words(words, 3, "once YYYY-MM-DD HH:MM", shown)
    if words[1] in _RELATIVE_DAYS:
        raise ScheduleError(
            f"'{shown}' depends on today's date; it must be resolved to a date when the task"
            " is saved (normalize_schedule), e.g. once 2027-01-31 10:00"
        )
    day = _parse_date(words[1], shown)
    hour, minute = _parse_time(words[2], shown)
    at = datetime(day.year, day.month, day.day, hour, minute)
    return Once(text=f"once {day.isoformat()} {hour:02d}:{minute:02d}", at=at)


def _parse_date(word: str, shown: str) -> date:
    match = _DATE.fullmatch(word)
    if match is None:
        raise ScheduleError(f"'{word}' is not a date in '{shown}'; write YYYY-MM-DD, e.g. 2027-01-31")
    year, month, day = (int(part) for part in match.groups())
    if not 1970 <= year <= 9998:
        raise ScheduleError(f"year {year} is out of range 1970-9998 in '{shown}'")
    try:
        return date(year, month, day)
    except ValueError:
        raise ScheduleError(f"{word} is not a valid calendar date in '{shown}'") from None


def _parse_time(word: str, shown: str) -> tuple[int, int]:
    match = _TIME.fullmatch(word)
    if match is None:
        raise ScheduleError(f"'{word}' is not a time in '{shown}'; write 24-hour HH:MM, e.g. 09:00 or 14:30")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23:
        raise ScheduleError(f"hour {hour} is out of range 0-23 in '{shown}'")
    if minute > 59:
        raise ScheduleError(f"minute {minute} is out of range 0-59 in '{shown}'")
    return hour, minute


def _expect_words(words: list[str], count: int, usage: str, shown: str) -> None:
    if len(words) < count:
        raise ScheduleError(f"'{shown}' is incomplete; write {usage}")
    if len(words) > count:
        raise ScheduleError(f"unexpected '{' '.join(words[count:])}' at the end of '{shown}'; write {usage}")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _unknown_word(word: str, shown: str) -> str:
    hint = _suggest(word, [*_PARSERS, *_WEEKDAYS])
    return f"unknown schedule word '{word}' in '{shown}'{hint}; write e.g. {EXAMPLES}"


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


_PARSERS: dict[str, Callable[[list[str], str], Schedule]] = {
    "daily": _parse_daily,
    "weekdays": _parse_workdays,
    "weekday": _parse_workdays,
    "weekends": _parse_weekends,
    "weekend": _parse_weekends,
    "monthly": _parse_monthly,
    "every": _parse_every,
    "hourly": _parse_hourly,
    "once": _parse_once,
}
