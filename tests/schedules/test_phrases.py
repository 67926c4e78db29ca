"""Schedules as people write them: each natural phrase is exactly one canonical form.

A phrase must give the canonical text, the same parsed schedule and the same next runs
(checked across both DST changes in Europe/Berlin). A phrase that is still refused must
say what to write instead.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bassi_ci.errors import ExitCode, ScheduleError
from bassi_ci.schedules import describe, next_runs, normalize_schedule, parse_schedule

BERLIN = ZoneInfo("Europe/Berlin")

# Starts before and at the spring-forward gap (2027-03-28 02:00-03:00) and the
# fall-back fold (2027-10-31 02:00-03:00 twice) in Europe/Berlin.
AFTERS = [
    datetime(2027, 3, 21, 0, 0, tzinfo=BERLIN),
    datetime(2027, 3, 28, 1, 55, tzinfo=BERLIN),
    datetime(2027, 10, 24, 0, 0, tzinfo=BERLIN),
    datetime(2027, 10, 31, 1, 55, tzinfo=BERLIN),
]

PHRASES = [
    # the phrases of issue #8
    ("every monday at 9", "monday 09:00"),
    ("every day at 09:00", "daily 09:00"),
    ("weekdays at 17:30", "weekdays 17:30"),
    ("every hour", "hourly"),
    ("every minute", "every 1m"),
    ("monday 9am", "monday 09:00"),
    ("daily 5:30pm", "daily 17:30"),
    # optional "every"/"on", plural names, either order
    ("every weekday at 9", "weekdays 09:00"),
    ("every sunday at 18:00", "sunday 18:00"),
    ("mondays at 9", "monday 09:00"),
    ("on Fridays at 23", "friday 23:00"),
    ("on tues at 12pm", "tuesday 12:00"),
    ("every thurs at 12am", "thursday 00:00"),
    ("at 9am every day", "daily 09:00"),
    ("9:15pm daily", "daily 21:15"),
    ("at 0 every day", "daily 00:00"),
    ("every weekend at 10", "weekends 10:00"),
    ("weekends at midnight", "weekends 00:00"),
    ("at noon on weekdays", "weekdays 12:00"),
    # 12-hour times with blanks and capitals
    ("DAILY 5:30 PM", "daily 17:30"),
    ("Every Weekday At 5:30 pm", "weekdays 17:30"),
    ("every day at 12:05am", "daily 00:05"),
    # wall times in the spring gap and the autumn fold
    ("daily at 2:30am", "daily 02:30"),
    ("every sunday at 2:30", "sunday 02:30"),
    # days of the month
    ("every month on the 15th at 8am", "monthly 15th 08:00"),
    ("monthly on the 1st at 12:30pm", "monthly 1st 12:30"),
    ("monthly 31st at 11pm", "monthly 31st 23:00"),
    ("monthly the 2nd at 2:30am", "monthly 2nd 02:30"),
    # intervals
    ("every 2 hours", "every 2h"),
    ("every 45 minutes", "every 45m"),
    ("every 1 hour", "every 1h"),
    ("every 90 min", "every 90m"),
    # one-off runs
    ("once 2027-03-28 at 2:30am", "once 2027-03-28 02:30"),
    ("once 2027-10-31 at 2:30", "once 2027-10-31 02:30"),
    ("once 2027-12-24 6pm", "once 2027-12-24 18:00"),
]


@pytest.mark.parametrize(("phrase", "canonical"), PHRASES)
def test_a_phrase_is_its_canonical_form(phrase: str, canonical: str) -> None:
    schedule = parse_schedule(phrase)
    assert schedule.text == canonical
    assert parse_schedule(canonical) == schedule
    assert describe(schedule) == describe(parse_schedule(canonical))
    assert normalize_schedule(phrase, "Europe/Berlin", AFTERS[0]) == canonical


@pytest.mark.parametrize(("phrase", "canonical"), PHRASES)
@pytest.mark.parametrize("after", AFTERS, ids=lambda after: after.strftime("%m-%d"))
def test_a_phrase_runs_when_its_canonical_form_runs(phrase: str, canonical: str, after: datetime) -> None:
    expected = next_runs(parse_schedule(canonical), "Europe/Berlin", after, 8)
    assert next_runs(parse_schedule(phrase), "Europe/Berlin", after, 8) == expected


def test_the_gap_and_the_fold_apply_to_phrases() -> None:
    runs = next_runs(parse_schedule("every day at 2:30am"), "Europe/Berlin", AFTERS[1], 2)
    assert [run.isoformat() for run in runs] == ["2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00"]
    runs = next_runs(parse_schedule("every minute"), "Europe/Berlin", datetime(2027, 3, 28, 1, 58, tzinfo=BERLIN), 3)
    assert [run.isoformat() for run in runs] == [
        "2027-03-28T01:59:00+01:00",
        "2027-03-28T03:00:00+02:00",
        "2027-03-28T03:01:00+02:00",
    ]


def test_relative_once_phrases_store_the_date() -> None:
    assert normalize_schedule("Once tomorrow at 9 PM", "Europe/Berlin", AFTERS[0]) == "once 2027-03-22 21:00"


REFUSED = [
    # days or time missing: the hint is the canonical form with an example filled in
    ("every day", "'every day' needs a time of day; write e.g. daily 09:00"),
    ("every monday", "write e.g. monday 09:00"),
    ("weekdays", "write e.g. weekdays 09:00"),
    ("at 9am", "'at 9am' needs the days to run on; write e.g. daily 09:00, weekdays 09:00 or monday 09:00"),
    ("noon", "write e.g. daily 12:00"),
    ("monthly at 8", "'monthly at 8' needs a day of the month; write e.g. monthly 1st 08:00"),
    ("every month", "write e.g. monthly 1st 09:00"),
    ("on the 1st at 9", "for a day of the month write e.g. monthly 1st 09:00"),
    # words the language has no form for
    ("weekly", "'weekly' needs a day of the week; write e.g. monday 09:00"),
    ("weekly 10:30", "write e.g. monday 10:30"),
    ("every week", "write e.g. monday 09:00"),
    ("weekly on monday at 9", "names its day, so leave out 'weekly'; write monday 09:00"),
    ("fortnightly", "no 'every other week'; the closest is a weekly schedule such as monday 09:00"),
    ("every other week", "the closest is a weekly schedule such as monday 09:00"),
    ("every other day at 7", "write daily 07:00, or the cron expression '0 7 */2 * *'"),
    ("every 2nd day", "no 'every other day'"),
    ("every other hour", "write every 2h"),
    ("every other month at 8", "write the cron expression '0 8 1 */2 *'"),
    ("yearly at 8", "write a cron expression such as '0 8 1 1 *' (January 1st at 08:00), or @yearly"),
    ("tomorrow at 10", "a single run starts with 'once': write once tomorrow at 10"),
    ("2027-01-31 10:00", "a single run starts with 'once': write once 2027-01-31 10:00"),
    # ambiguous numbers
    ("every 9", "'every 9' needs a unit; write every 9m or every 9h, or daily 09:00 for 09:00 every day"),
    ("every 90", "write every 90m or every 90h"),
    ("monday 9", "'9' in 'monday 9' is a bare number, which is read as a time only after 'at'; write monday 09:00"),
    ("9 daily", "write daily 09:00 (or 'at 9 daily')"),
    ("once 2027-01-31 9", "write once 2027-01-31 09:00"),
    ("every hour at 15", "ambiguous: for minute 15 of every hour write the cron expression '15 * * * *',"),
    ("every hour at 15", "for 15:00 every day write daily 15:00"),
    ("hourly at :30", "for minute 30 of every hour write the cron expression '30 * * * *'"),
    ("every 9am", "'every 9am' names no days; write daily 09:00 (or 'every day at 9am')"),
    # impossible times
    ("daily 13pm", "'13pm' is not a 12-hour time in 'daily 13pm': am/pm hours run from 1 to 12; write daily 13:00"),
    ("daily 0am", "write daily 00:00 (24-hour) or 12am"),
    ("daily 25pm", "am/pm hours run from 1 to 12; write a time such as 9am or 17:30"),
    ("at 24", "hour 24 is out of range 0-23 in 'at 24'"),
    ("daily 9:75pm", "minute 75 is out of range 0-59"),
    ("daily 9.30", "'9.30' is not a time in 'daily 9.30'; write daily 09:30"),
    ("at nine", "'nine' is not a time in 'at nine'; write 24-hour HH:MM (09:00, 17:30) or 12-hour 9am, 5:30pm"),
    ("monday at", "'monday at' ends after 'at'; write a time such as 09:00, 9am or 5:30pm"),
    # more than one schedule in one
    ("monday and friday at 9", "names several days or times; one schedule has one day pattern and one time of day"),
    ("daily 9am, 5pm", "for several use a cron expression, e.g. '0 9 * * MON,FRI'"),
    ("daily 09:00 17:00", "names two times of day"),
    ("monday at 9 every friday", "names the days twice"),
    ("every 30 minutes on weekdays", "an interval runs all day, every day: write every 30m, or a cron expression"),
    ("weekdays hourly", "an interval runs all day, every day; for certain days or hours write a cron expression"),
    # typos: the hint is the repaired schedule's canonical form
    ("mondey at 9", "unknown schedule word 'mondey' in 'mondey at 9' (did you mean 'monday 09:00'?)"),
    ("evry hour", "(did you mean 'hourly'?)"),
    ("every tusday at 5pm", "(did you mean 'tuesday 17:00'?)"),
    ("every day at 9 sharp", "unexpected 'sharp' at the end of 'every day at 9 sharp'; write daily 09:00"),
]


@pytest.mark.parametrize(("text", "hint"), REFUSED)
def test_a_refused_phrase_names_what_to_write(text: str, hint: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    message = str(caught.value)
    assert hint in message
    assert "\n" not in message and "did you mean 'weekday'" not in message
    assert caught.value.exit_code is ExitCode.USAGE_ERROR


NAMED = [
    ("every 9", "every 9m"),
    ("every 9", "daily 09:00"),
    ("weekly", "monday 09:00"),
    ("every day", "daily 09:00"),
    ("monday 9", "monday 09:00"),
    ("daily 13pm", "daily 13:00"),
    ("daily 13pm", "1pm"),
    ("every hour at 15", "15 * * * *"),
    ("mondey at 9", "monday 09:00"),
    ("every other day at 7", "0 7 */2 * *"),
    ("every other month at 8", "0 8 1 */2 *"),
    ("yearly at 8", "0 8 1 1 *"),
    ("2027-01-31 10:00", "once 2027-01-31 10:00"),
    ("monday and friday at 9", "0 9 * * MON,FRI"),
    ("every 30 minutes on weekdays", "*/30 9-17 * * 1-5"),
]


@pytest.mark.parametrize(("text", "form"), NAMED)
def test_the_form_a_hint_names_is_valid(text: str, form: str) -> None:
    """Hints never point away: the form they name parses (a bare time with a day added)."""
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)
    assert form in str(caught.value)
    parse_schedule(form if " " in form else f"daily {form}")


def test_once_today_in_a_task_file_names_no_internal_function() -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("once tomorrow 10:00")
    assert "normalize_schedule" not in str(caught.value)
    assert "bassi schedule add, edit and preview fill it in" in str(caught.value)


def test_cron_and_aliases_are_not_read_as_phrases() -> None:
    assert parse_schedule("0 9 * * mon").text == "0 9 * * MON"
    assert parse_schedule("30 17 * * 1-5").text == "30 17 * * 1-5"
    assert parse_schedule("@daily").text == "@daily"
    with pytest.raises(ScheduleError, match="has 2 fields; a cron expression has 5"):
        parse_schedule("9 mon")
