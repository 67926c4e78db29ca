"""What to write instead: the messages of refused schedules, each naming the closest valid form.

Where a small repair of the text (a typo fixed, "at" put before a bare hour, "13pm" read
as 13:00) parses, the message shows the canonical form of the repaired text. Repairs are
tried one level deep only, so a text with several problems costs a few parses at most.
"""

from __future__ import annotations

import contextvars
import difflib

from bassi_ci.errors import ScheduleError

# parse imports this module for its messages, and the messages try repairs with the parser:
# a module reference, read at call time, lets the two import each other.
from bassi_ci.schedules import parse as schedule_parse

EXAMPLES = (
    "daily 09:00, weekdays 17:30, monday 09:00, monthly 1st 08:00, every 30m, hourly,"
    " once 2027-01-31 10:00 or a cron expression like '0 9 * * 1-5'"
)

_NOT_SUPPORTED_LISTS = (
    "one schedule has one day pattern and one time of day; for several use a cron expression,"
    " e.g. '0 9 * * MON,FRI' (Monday and Friday at 09:00) or '0 9,17 * * *' (09:00 and 17:00 every day)"
)

_repairing = contextvars.ContextVar("_repairing", default=False)


def repaired(words: list[str]) -> str | None:
    """The canonical text of the repaired `words`, or None if that does not parse either."""
    if _repairing.get():
        return None
    token = _repairing.set(True)
    try:
        return schedule_parse.parse_schedule(" ".join(words)).text
    except ScheduleError:
        return None
    finally:
        _repairing.reset(token)


def suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _time_example(words: list[str]) -> tuple[int, int]:
    """The time of day the text names, for examples; 09:00 when it names none."""
    for index, word in enumerate(words):
        if word == "at" and index + 1 < len(words) and words[index + 1].isdigit() and int(words[index + 1]) < 24:
            return int(words[index + 1]), 0
        if (time := schedule_parse.time_of_day(word)) is not None:
            return time
    return 9, 0


def _hhmm(words: list[str]) -> str:
    hour, minute = _time_example(words)
    return f"{hour:02d}:{minute:02d}"


def refuse_lists(words: list[str], shown: str) -> None:
    """Several days or times ("monday and friday", "9am, 5pm") are not one schedule."""
    if any(word in ("and", "&", "+") or "," in word for word in words):
        raise ScheduleError(f"'{shown}' names several days or times; {_NOT_SUPPORTED_LISTS}")


def needs_time(prefix: str, shown: str) -> str:
    return f"'{shown}' needs a time of day; write e.g. {prefix} 09:00"


def needs_days(time: tuple[int, int] | None, shown: str) -> str:
    at = f"{time[0]:02d}:{time[1]:02d}" if time else "09:00"
    return f"'{shown}' needs the days to run on; write e.g. daily {at}, weekdays {at} or monday {at}"


def needs_day_of_month(word: str | None, words: list[str], shown: str) -> str:
    example = f"monthly 1st {_hhmm(words)}"
    if word is None or word == "at" or _is_time(word):
        return f"'{shown}' needs a day of the month; write e.g. {example}"
    if word == "last":
        return f"'last' is not a day of the month in '{shown}' (cron cannot say it either); write e.g. {example}"
    return f"'{word}' is not a day of the month in '{shown}'; write e.g. {example}"


def bare_number(words: list[str], index: int, shown: str) -> str:
    fixed = [*words[:index], "at", *words[index:]]
    canonical = repaired(fixed)
    message = f"'{words[index]}' in '{shown}' is a bare number, which is read as a time only after 'at'"
    if canonical is None:
        return f"{message}; write a time such as 09:00 or 9am, or 'at 9'"
    return f"{message}; write {canonical} (or '{' '.join(fixed)}')"


def bad_12_hour(words: list[str], index: int, hour: int, minute: int, shown: str) -> str:
    message = f"'{words[index]}' is not a 12-hour time in '{shown}': am/pm hours run from 1 to 12"
    if hour > 23 or minute > 59:
        return f"{message}; write a time such as 9am or 17:30"
    clock = f"{hour:02d}:{minute:02d}"
    canonical = repaired([*words[:index], clock, *words[index + 1 :]])
    twelve, suffix = (12, "am") if hour == 0 else (hour - 12, "pm")
    example = f"{twelve}{suffix}" if minute == 0 else f"{twelve}:{minute:02d}{suffix}"
    return f"{message}; write {canonical or clock} (24-hour) or {example}"


def no_unit(number: int, shown: str) -> str:
    message = f"'{shown}' needs a unit; write every {number}m or every {number}h"
    if number <= 23:
        message += f", or daily {number:02d}:00 for {number:02d}:00 every day"
    return message


def every_nth(number: int, tail: list[str], shown: str) -> str:
    """ "every 2nd day", "every 3rd week"."""
    if number == 2 and tail:
        return every_other(tail[0], tail, shown)
    return (
        f"'{shown}' cannot be written: cron and systemd calendars have no 'every Nth day or week';"
        f" the closest are daily {_hhmm(tail)} and monday {_hhmm(tail)}"
    )


def every_other(unit: str, words: list[str], shown: str) -> str:
    """ "every other day|week|month|hour"."""
    hour, minute = _time_example(words)
    at = f"{hour:02d}:{minute:02d}"
    unit = unit.rstrip("s")
    if unit == "hour":
        return f"'{shown}' is every 2h; write every 2h"
    if unit in ("minute", "min"):
        return f"'{shown}' is every 2m; write every 2m"
    if unit == "day":
        return (
            f"'{shown}' cannot be written exactly: cron and systemd calendars have no 'every other day'"
            f" (a '*/2' day field restarts each month); write daily {at}, or the cron expression"
            f" '{minute} {hour} */2 * *' for the odd days of each month"
        )
    if unit == "week":
        return (
            f"'{shown}' cannot be written: cron and systemd calendars have no 'every other week';"
            f" the closest is a weekly schedule such as monday {at}"
        )
    if unit == "month":
        return f"'{shown}': write the cron expression '{minute} {hour} 1 */2 *' (the 1st of every other month at {at})"
    return f"'{shown}' cannot be written as a schedule; write e.g. {EXAMPLES}"


def interval_tail(text: str, tail: list[str], shown: str) -> str:
    """Words after an interval: "every hour at 15" (minute 15, or 15:00?), "every 30m on weekdays"."""
    if text == "hourly" and tail[0] in ("at", "on") and len(tail) == 2:
        tail = tail[1:]
    if text == "hourly" and len(tail) == 1:
        minute = tail[0].lstrip(":")
        if minute.isdigit() and int(minute) < 60:
            value = int(minute)
            daily = f", for {value:02d}:00 every day write daily {value:02d}:00" if value < 24 else ""
            return (
                f"'{shown}' is ambiguous: for minute {value} of every hour write the cron expression"
                f" '{value} * * * *'{daily}"
            )
    return (
        f"unexpected '{' '.join(tail)}' after the interval in '{shown}'; an interval runs all day, every day:"
        f" write {text}, or a cron expression such as '*/30 9-17 * * 1-5'"
        " (every 30 minutes from 09:00 to 17:30, Monday to Friday)"
    )


def unexpected(
    words: list[str], index: int, shown: str, days: schedule_parse.Days | None, time: tuple[int, int] | None
) -> str:
    """A word the calendar phrase cannot place."""
    word = words[index]
    if time is not None and (_is_time(word) or word == "at" or word.isdigit()):
        return f"'{shown}' names two times of day; {_NOT_SUPPORTED_LISTS}"
    named = words[index + 1] if word in ("every", "on") and index + 1 < len(words) else word
    if days is not None and named in {*schedule_parse.DAY_WORDS, "daily", "monthly", "day", "month"}:
        return f"'{shown}' names the days twice; {_NOT_SUPPORTED_LISTS}"
    if days is not None and time is not None:
        canonical = f"{days.prefix} {time[0]:02d}:{time[1]:02d}"
        return f"unexpected '{' '.join(words[index:])}' at the end of '{shown}'; write {canonical}"
    return unknown_word(words, index, shown)


def not_days(words: list[str], index: int, lead: str | None, shown: str) -> str:
    """After "every"/"on" comes something that is not days: "every 9am", "every week", "on the 1st"."""
    if index == len(words):
        return f"'{shown}' ends after '{lead}'; write e.g. every day at 09:00 or every monday at 09:00"
    word = words[index]
    if _is_time(word):
        canonical = repaired([*words[: index - 1], "daily", *words[index:]])
        if canonical is not None:
            return f"'{shown}' names no days; write {canonical} (or 'every day at {word}')"
    if lead == "on" and (word == "the" or word[:1].isdigit()):
        return f"'{shown}': for a day of the month write e.g. monthly 1st {_hhmm(words)}"
    if lead == "every" and word in ("other", "second", "alternate") and index + 1 < len(words):
        return every_other(words[index + 1], words, shown)
    return unknown_word(words, index, shown)


def unknown_word(words: list[str], index: int, shown: str) -> str:
    special = _special_word(words, index, shown)
    if special is not None:
        return special
    word = words[index]
    for choice in difflib.get_close_matches(word, _vocabulary(), n=3, cutoff=0.6):
        canonical = repaired([*words[:index], choice, *words[index + 1 :]])
        if canonical is not None:
            return f"unknown schedule word '{word}' in '{shown}' (did you mean '{canonical}'?)"
    return f"unknown schedule word '{word}' in '{shown}'; write e.g. {EXAMPLES}"


def _special_word(words: list[str], index: int, shown: str) -> str | None:
    """Words people use for schedules this language words differently or cannot say."""
    word = words[index]
    at = _hhmm(words)
    if word in ("weekly", "week", "weeks"):
        rest = [w for i, w in enumerate(words) if i != index and not (i == index - 1 and w == "every")]
        canonical = repaired(rest) if rest else None
        if canonical is not None:  # "weekly on monday at 9": the day already says it
            return f"'{shown}' names its day, so leave out '{word}'; write {canonical}"
        return f"'{shown}' needs a day of the week; write e.g. monday {at}"
    if word in ("fortnightly", "biweekly"):
        return every_other("week", words, shown)
    if word in ("yearly", "annually", "year"):
        hour, minute = _time_example(words)
        return (
            f"'{shown}': write a cron expression such as '{minute} {hour} 1 1 *' (January 1st at {at}),"
            " or @yearly (January 1st at 00:00)"
        )
    if word in ("today", "tomorrow") and index == 0:
        return f"a single run starts with 'once': write once {' '.join(words)} (bassi stores it with the date)"
    if schedule_parse.DATE.fullmatch(word) and index == 0:
        canonical = repaired(["once", *words])
        return f"a single run starts with 'once': write {canonical or f'once {word} {at}'}"
    if word[:1].isdigit():  # "9.30", "0930", "9h"
        canonical = repaired([*words[:index], word.replace(".", ":"), *words[index + 1 :]]) if "." in word else None
        return f"'{word}' is not a time in '{shown}'; write {canonical or 'a time such as 09:30 or 9:30am'}"
    if word in ("hourly", "minutely"):
        return f"'{shown}': an interval runs all day, every day; for certain days or hours write a cron expression"
    return None


def _is_time(word: str) -> bool:
    return schedule_parse.is_time_word(word)


def _vocabulary() -> list[str]:
    return sorted(
        {*schedule_parse.PHRASE_WORDS, *schedule_parse.WEEKDAY_WORDS} - {"and", "the", "on", "at", "days", "week"}
    )
