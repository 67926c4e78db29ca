"""The schedule DSL: text in, a `Schedule` with its canonical text out.

Canonical forms (what a task file stores and `schedule show` prints):

    daily HH:MM
    monday HH:MM           any weekday
    weekdays HH:MM         Monday to Friday;  weekends HH:MM: Saturday and Sunday
    monthly 1st HH:MM      days 1-31
    every 30m | every 2h   1 minute to 1 week
    hourly                 minute 0 of every hour
    once YYYY-MM-DD HH:MM
    any 5-field cron expression, and @hourly @daily @midnight @weekly @monthly
    @yearly @annually

The same schedules as people write them (case-insensitive, extra blanks ignored), each
read as exactly one canonical form:

    DAYS [at] TIME, or [at] TIME DAYS
      DAYS   daily | every day
             [every|on] monday    full name, 3 letters, tues/thur/thurs/weds, or plural
             [every|on] weekdays  also "weekday"; weekends/weekend for Saturday and Sunday
             monthly | every month, then [on] [the] 1st (or 15, 22nd, ...)
      TIME   24-hour H:MM or HH:MM;  12-hour 9am, 9 am, 5:30pm (12am is 00:00, 12pm is
             12:00);  noon, midnight;  a bare hour 0-23 only after "at" ("at 9" is 09:00)
    every hour -> hourly;  every minute -> every 1m;  every 45 minutes -> every 45m
    once YYYY-MM-DD [at] TIME
    once today/tomorrow [at] TIME: relative, so only `normalize_schedule` accepts it;
      it stores the resolved date

Everything else is refused with a message that names the closest valid form
(`hints`): a bare number without "at" ("monday 9"), "every 9", "13pm", "weekly", several
days or times in one schedule, "every hour at 15" (minute 15, or 15:00?).

`monthly 29th`-`31st` run only in months that have that day (like cron `0 8 31 * *`
and systemd `*-*-31`); they are not moved to the last day of shorter months.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules import hints
from bassi_ci.schedules.cronfields import ALIASES, check_cron
from bassi_ci.schedules.model import WEEKEND, WORKDAYS, Calendar, Cron, Interval, Once, Schedule
from bassi_ci.schedules.zones import validate_timezone

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})", re.ASCII)
_TIME12 = re.compile(r"([0-9]{1,2})(?::([0-9]{2}))?(am|pm)", re.ASCII)
_HOUR = re.compile(r"[0-9]{1,2}", re.ASCII)
_BEFORE_MERIDIEM = re.compile(r"[0-9]{1,2}(:[0-9]{2})?", re.ASCII)
DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DAY = re.compile(r"([0-9]{1,2})(st|nd|rd|th)?", re.ASCII)
_NUMBER_UNIT = re.compile(r"([0-9]{1,6})([a-z]*)", re.ASCII)
_CRON_WORD = re.compile(r"[0-9*][0-9a-z*/,\-]*", re.ASCII)
_MINUTE_UNITS = ("m", "min", "mins", "minute", "minutes")
_HOUR_UNITS = ("h", "hr", "hrs", "hour", "hours")
_SECOND_UNITS = ("s", "sec", "secs", "second", "seconds")
_ORDINAL_SUFFIXES = ("st", "nd", "rd", "th")
_MAX_INTERVAL_MINUTES = 7 * 24 * 60
_RELATIVE_DAYS = {"today": 0, "tomorrow": 1}
_CLOCK_WORDS = {"noon": (12, 0), "midnight": (0, 0)}

DAY_NAMES = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
WEEKDAY_WORDS: dict[str, int] = {"tues": 2, "weds": 3, "thur": 4, "thurs": 4}
for _number, _name in enumerate(DAY_NAMES):
    WEEKDAY_WORDS.update({_name: _number, _name[:3]: _number, _name + "s": _number})

DAY_WORDS = frozenset({*WEEKDAY_WORDS, "weekday", "weekdays", "weekend", "weekends"})

# Words that only a natural phrase uses: a text with one of them is not a cron expression
# unless it has exactly five fields (cron's own MON, JAN names are not among them).
PHRASE_WORDS = frozenset(
    {"every", "at", "on", "the", "and", "daily", "monthly", "weekly", "hourly", "once", "today", "tomorrow"}
    | {"day", "days", "week", "month", "weekday", "weekdays", "weekend", "weekends", *_CLOCK_WORDS}
    | {word for word in WEEKDAY_WORDS if len(word) > 3}
)


@dataclass(frozen=True)
class Days:
    """The days part of a calendar phrase, as its canonical words ("daily", "monthly 1st")."""

    prefix: str
    kind: str
    weekdays: tuple[int, ...] = ()
    day_of_month: int | None = None


_DAILY = Days("daily", "daily")


@functools.lru_cache(maxsize=4096)  # listing 1,000 tasks parses the same few texts again and again
def parse_schedule(text: str) -> Schedule:
    """Parse schedule text; raise ScheduleError saying what is wrong and how to fix it."""
    words = split_words(text)
    shown = " ".join(text.split())
    if not words:
        raise ScheduleError(f"the schedule is empty; write e.g. {hints.EXAMPLES}")
    head = words[0]
    if head.startswith("@"):
        return _parse_alias(words, shown)
    if _is_cron(words):
        return _parse_cron(words, shown)
    if head == "every" and _is_interval(words[1:]):
        return _parse_every(words, shown)
    if head == "hourly":
        if len(words) > 1:
            raise ScheduleError(hints.interval_tail("hourly", words[1:], shown))
        return Interval(text="hourly", minutes=60, kind="hourly")
    if head == "once":
        return _parse_once(words, shown)
    return _parse_calendar(words, shown)


def normalize_schedule(text: str, tz: str, now: datetime) -> str:
    """The canonical text to store: `once tomorrow 10:00` becomes a dated `once`.

    "today"/"tomorrow" are read as dates in zone `tz` at the aware time `now`.
    """
    zone = validate_timezone(tz)
    words = text.split()
    if len(words) >= 3 and words[0].lower() == "once" and words[1].lower() in _RELATIVE_DAYS:
        if now.tzinfo is None:
            raise ScheduleError("the current time must carry a time zone to resolve 'once'")
        day = now.astimezone(zone).date() + timedelta(days=_RELATIVE_DAYS[words[1].lower()])
        text = " ".join(["once", day.isoformat(), *words[2:]])
    return parse_schedule(text).text


def split_words(text: str) -> list[str]:
    """Lower-case words; a separate "am"/"pm" joins the time before it ("5:30 pm" -> "5:30pm")."""
    words: list[str] = []
    for word in text.lower().split():
        if word in ("am", "pm") and words and _BEFORE_MERIDIEM.fullmatch(words[-1]):
            words[-1] += word
        else:
            words.append(word)
    return words


def is_time_word(word: str) -> bool:
    """A word that is a time of day by itself (a bare hour is one only after "at")."""
    return bool(word in _CLOCK_WORDS or _TIME.fullmatch(word) or _TIME12.fullmatch(word))


def time_of_day(word: str) -> tuple[int, int] | None:
    """The (hour, minute) of a valid time word, or None."""
    try:
        return _clock([word], 0, after_at=True, shown=word) if is_time_word(word) else None
    except ScheduleError:
        return None


def _is_cron(words: list[str]) -> bool:
    head = words[0]
    if not _CRON_WORD.fullmatch(head) or ":" in head or _TIME12.fullmatch(head) or DATE.fullmatch(head):
        return False
    return len(words) == 5 or not any(word in PHRASE_WORDS or is_time_word(word) for word in words)


def _is_interval(rest: list[str]) -> bool:
    """After "every": a number or a bare minute/hour unit ("every hour"), not "every day"."""
    if not rest:
        return True
    first = rest[0]
    if first in (*_MINUTE_UNITS, *_HOUR_UNITS, *_SECOND_UNITS):
        return True
    return first[:1].isdigit() and not is_time_word(first)


def _parse_alias(words: list[str], shown: str) -> Cron:
    _expect_words(words, 1, words[0], shown)
    if words[0] not in ALIASES:
        hint = hints.suggest(words[0], list(ALIASES))
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


def _parse_calendar(words: list[str], shown: str) -> Calendar:
    """DAYS [at] TIME in either order: "every monday at 9", "at 5:30pm on weekdays"."""
    hints.refuse_lists(words, shown)
    days: Days | None = None
    time: tuple[int, int] | None = None
    index = 0
    while index < len(words):
        word = words[index]
        if time is None and (word == "at" or is_time_word(word) or _HOUR.fullmatch(word)):
            time, index = _read_time(words, index, shown)
        elif days is None and (word in ("every", "on", "daily", "monthly") or word in DAY_WORDS):
            days, index = _read_days(words, index, shown)
        else:
            raise ScheduleError(hints.unexpected(words, index, shown, days, time))
    if days is None:
        raise ScheduleError(hints.needs_days(time, shown))
    if time is None:
        raise ScheduleError(hints.needs_time(days.prefix, shown))
    hour, minute = time
    return Calendar(
        f"{days.prefix} {hour:02d}:{minute:02d}",
        days.kind,
        hour,
        minute,
        weekdays=days.weekdays,
        day_of_month=days.day_of_month,
    )


def _read_days(words: list[str], index: int, shown: str) -> tuple[Days, int]:
    lead = words[index] if words[index] in ("every", "on") else None
    if lead is not None:
        index += 1
    word = words[index] if index < len(words) else ""
    if word in WEEKDAY_WORDS:
        day = WEEKDAY_WORDS[word]
        return Days(DAY_NAMES[day], "weekly", (day,)), index + 1
    if word in ("weekday", "weekdays"):
        return Days("weekdays", "weekly", WORKDAYS), index + 1
    if word in ("weekend", "weekends"):
        return Days("weekends", "weekly", WEEKEND), index + 1
    if (word, lead) in (("daily", None), ("day", "every")):
        return _DAILY, index + 1
    if (word, lead) in (("monthly", None), ("month", "every")):
        return _read_day_of_month(words, index + 1, shown)
    raise ScheduleError(hints.not_days(words, index, lead, shown))


def _read_day_of_month(words: list[str], index: int, shown: str) -> tuple[Days, int]:
    for optional in ("on", "the"):
        if index < len(words) and words[index] == optional:
            index += 1
    word = words[index] if index < len(words) else None
    match = _DAY.fullmatch(word) if word is not None else None
    if match is None:
        raise ScheduleError(hints.needs_day_of_month(word, words, shown))
    day = int(match.group(1))
    if not 1 <= day <= 31:
        raise ScheduleError(f"day {day} is out of range 1-31 in '{shown}'")
    return Days(f"monthly {_ordinal(day)}", "monthly", day_of_month=day), index + 1


def _read_time(words: list[str], index: int, shown: str) -> tuple[tuple[int, int], int]:
    after_at = words[index] == "at"
    if after_at:
        index += 1
        if index == len(words):
            raise ScheduleError(f"'{shown}' ends after 'at'; write a time such as 09:00, 9am or 5:30pm")
    return _clock(words, index, after_at, shown), index + 1


def _clock(words: list[str], index: int, after_at: bool, shown: str) -> tuple[int, int]:
    """The (hour, minute) of words[index]: 24-hour, 12-hour, noon/midnight, or "at" + hour."""
    word = words[index]
    if word in _CLOCK_WORDS:
        return _CLOCK_WORDS[word]
    if match := _TIME.fullmatch(word):
        return _checked_time(int(match.group(1)), int(match.group(2)), shown)
    if match := _TIME12.fullmatch(word):
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if not 1 <= hour <= 12:
            raise ScheduleError(hints.bad_12_hour(words, index, hour, minute, shown))
        _checked_time(hour, minute, shown)
        return hour % 12 + (12 if match.group(3) == "pm" else 0), minute
    if _HOUR.fullmatch(word):
        if not after_at:
            raise ScheduleError(hints.bare_number(words, index, shown))
        return _checked_time(int(word), 0, shown)
    raise ScheduleError(
        f"'{word}' is not a time in '{shown}'; write 24-hour HH:MM (09:00, 17:30) or 12-hour 9am, 5:30pm"
    )


def _checked_time(hour: int, minute: int, shown: str) -> tuple[int, int]:
    if hour > 23:
        raise ScheduleError(f"hour {hour} is out of range 0-23 in '{shown}'")
    if minute > 59:
        raise ScheduleError(f"minute {minute} is out of range 0-59 in '{shown}'")
    return hour, minute


def _parse_every(words: list[str], shown: str) -> Interval:
    rest = words[1:]
    if not rest:
        raise ScheduleError(f"'{shown}' is incomplete; write e.g. every 30m, every hour or every day at 09:00")
    if not rest[0][:1].isdigit():  # "every hour", "every minute"
        number, unit, tail = None, rest[0], rest[1:]
    else:
        match = _NUMBER_UNIT.fullmatch(rest[0])
        if match is None:
            raise ScheduleError(f"'{rest[0]}' is not a number of minutes or hours in '{shown}'; write e.g. every 30m")
        number, unit, tail = int(match.group(1)), match.group(2), rest[1:]
        if not unit and tail:
            unit, tail = tail[0], tail[1:]
        if not unit:
            raise ScheduleError(hints.no_unit(number, shown))
        if unit in _ORDINAL_SUFFIXES:
            raise ScheduleError(hints.every_nth(number, tail, shown))
    minutes = (1 if number is None else number) * _unit_minutes(unit, shown)
    if number is None and minutes == 60:
        text = "hourly"
    else:
        text = f"every {minutes // 60}h" if minutes % 60 == 0 else f"every {minutes}m"
    if tail:
        raise ScheduleError(hints.interval_tail(text, tail, shown))
    if minutes < 1:
        raise ScheduleError(f"the interval in '{shown}' must be at least 1 minute (every 1m)")
    if minutes > _MAX_INTERVAL_MINUTES:
        raise ScheduleError(
            f"the interval in '{shown}' is longer than a week; use a calendar schedule"
            " such as monday 09:00 or monthly 1st 09:00"
        )
    if text == "hourly":
        return Interval(text="hourly", minutes=60, kind="hourly")
    return Interval(text=text, minutes=minutes)


def _unit_minutes(unit: str, shown: str) -> int:
    if unit in _MINUTE_UNITS:
        return 1
    if unit in _HOUR_UNITS:
        return 60
    if unit in _SECOND_UNITS:
        raise ScheduleError(f"seconds are not supported in '{shown}'; the shortest interval is every 1m")
    if unit in ("d", "day", "days", "w", "week", "weeks"):
        raise ScheduleError(
            f"'{shown}': intervals are counted in minutes or hours; for days use"
            " a calendar schedule such as daily 09:00 or monday 09:00"
        )
    hint = hints.suggest(unit, [*_MINUTE_UNITS, *_HOUR_UNITS])
    raise ScheduleError(f"unknown unit '{unit}' in '{shown}'{hint}; use m (minutes) or h (hours)")


def _parse_once(words: list[str], shown: str) -> Once:
    if len(words) < 2:
        raise ScheduleError(f"'{shown}' is incomplete; write e.g. once 2027-01-31 10:00")
    if words[1] in _RELATIVE_DAYS:
        raise ScheduleError(
            f"'{shown}' depends on today's date, so it cannot be stored as it is; write the date,"
            " e.g. once 2027-01-31 10:00 (bassi schedule add, edit and preview fill it in for you)"
        )
    day = _parse_date(words[1], shown)
    if len(words) < 3:
        raise ScheduleError(f"'{shown}' needs a time of day; write e.g. once {day.isoformat()} 09:00")
    (hour, minute), index = _read_time(words, 2, shown)
    text = f"once {day.isoformat()} {hour:02d}:{minute:02d}"
    if index < len(words):
        raise ScheduleError(f"unexpected '{' '.join(words[index:])}' at the end of '{shown}'; write {text}")
    return Once(text=text, at=datetime(day.year, day.month, day.day, hour, minute))


def _parse_date(word: str, shown: str) -> date:
    match = DATE.fullmatch(word)
    if match is None:
        raise ScheduleError(f"'{word}' is not a date in '{shown}'; write YYYY-MM-DD, e.g. 2027-01-31")
    year, month, day = (int(part) for part in match.groups())
    if not 1970 <= year <= 9998:
        raise ScheduleError(f"year {year} is out of range 1970-9998 in '{shown}'")
    try:
        return date(year, month, day)
    except ValueError:
        raise ScheduleError(f"{word} is not a valid calendar date in '{shown}'") from None


def _expect_words(words: list[str], count: int, usage: str, shown: str) -> None:
    if len(words) < count:
        raise ScheduleError(f"'{shown}' is incomplete; write {usage}")
    if len(words) > count:
        raise ScheduleError(f"unexpected '{' '.join(words[count:])}' at the end of '{shown}'; write {usage}")


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"
