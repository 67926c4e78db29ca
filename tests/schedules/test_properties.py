"""Properties that must hold for any input, found by hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules import (
    Calendar,
    Once,
    Schedule,
    next_runs,
    normalize_schedule,
    parse_schedule,
)

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "America/Santiago",  # DST changes at midnight
    "Pacific/Apia",  # skipped a whole day in 2011
]

WORDS = [
    "daily", "hourly", "monthly", "every", "once", "weekdays", "weekends", "monday",
    "Tue", "sundays", "tomorrow", "today", "1st", "15", "31st", "32nd", "30m", "2h",
    "90", "m", "minutes", "h", "s", "@daily", "@hourly", "@reboot", "*", "*/5", "1-5",
    "MON-FRI", "JAN", "0", "59", "60", "9:00", "25:00", "23:59", "2027-01-31", "2028-02-29",
    "2027-02-30", "L", "5#2", ",", "-", "/", "",
    "at", "on", "the", "and", "day", "month", "week", "weekly", "other", "9", "13", "9am", "12pm", "13pm",
    "5:30", "pm", "noon", "midnight", "hour", "minute", "mondays", "weekday", "2nd", "last",
]  # fmt: skip

_DAY_NAMES = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]


@st.composite
def time_of_day(draw: st.DrawFn) -> str:
    return f"{draw(st.integers(0, 23))}:{draw(st.integers(0, 59)):02d}"


@st.composite
def cron_field(draw: st.DrawFn, low: int, high: int) -> str:
    a, b = sorted(draw(st.lists(st.integers(low, high), min_size=2, max_size=2)))
    return draw(st.sampled_from(["*", f"{a}", f"{a}-{b}", f"{a},{b}", f"*/{max(1, b - a)}", f"{a}-{b}/2"]))


@st.composite
def cron_expression(draw: st.DrawFn) -> str:
    bounds = [(0, 59), (0, 23), (1, 28), (1, 12), (0, 7)]
    return " ".join(draw(cron_field(low, high)) for low, high in bounds)


@st.composite
def natural_time(draw: st.DrawFn) -> tuple[str, str]:
    """A time of day as people write it, and its canonical HH:MM."""
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    twelve, suffix = hour % 12 or 12, "am" if hour < 12 else "pm"
    forms = [f"{hour}:{minute:02d}", f"at {hour:02d}:{minute:02d}", f"{twelve}:{minute:02d}{suffix}"]
    forms.append(f"at {twelve}:{minute:02d} {suffix}")
    if minute == 0:
        forms += [f"at {hour}", f"{twelve}{suffix}", f"at {twelve} {suffix}"]
    forms += {(12, 0): ["noon", "at noon"], (0, 0): ["midnight", "at midnight"]}.get((hour, minute), [])
    return draw(st.sampled_from(forms)), f"{hour:02d}:{minute:02d}"


@st.composite
def natural_days(draw: st.DrawFn) -> tuple[str, str]:
    """The days of a calendar schedule as people write them, and the canonical words."""
    kind = draw(st.sampled_from(["daily", "weekday", "workdays", "weekend", "monthly"]))
    if kind == "daily":
        return draw(st.sampled_from(["daily", "every day"])), "daily"
    if kind == "weekday":
        name = draw(st.sampled_from(_DAY_NAMES))
        written = draw(st.sampled_from([name, name[:3], name + "s"]))
        return draw(st.sampled_from(["", "every ", "on "])) + written, name
    if kind in ("workdays", "weekend"):
        word = "weekday" if kind == "workdays" else "weekend"
        written = draw(st.sampled_from([word, word + "s"]))
        return draw(st.sampled_from(["", "every ", "on "])) + written, word + "s"
    day = draw(st.integers(1, 31))
    ordinal = f"{day}{'th' if 11 <= day <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"
    lead = draw(st.sampled_from(["monthly ", "monthly on the ", "every month on the ", "every month on "]))
    return lead + draw(st.sampled_from([str(day), ordinal])), f"monthly {ordinal}"


@st.composite
def natural_calendar(draw: st.DrawFn) -> tuple[str, str]:
    """A calendar phrase (days and time in either order) and its canonical text."""
    (days, days_canonical), (time, time_canonical) = draw(natural_days()), draw(natural_time())
    text = f"{time} {days}" if draw(st.booleans()) else f"{days} {time}"
    return text, f"{days_canonical} {time_canonical}"


natural_intervals = st.sampled_from(
    [
        ("every hour", "hourly"),
        ("every minute", "every 1m"),
        ("every 1 hour", "every 1h"),
        ("every 2 hours", "every 2h"),
    ]
)

valid_texts = st.one_of(
    natural_calendar().map(lambda pair: pair[0]),
    natural_intervals.map(lambda pair: pair[0]),
    time_of_day().map(lambda t: f"daily {t}"),
    st.tuples(st.sampled_from(["monday", "Fri", "weekdays", "weekends", "sundays"]), time_of_day()).map(" ".join),
    st.tuples(st.integers(1, 31), time_of_day()).map(lambda p: f"monthly {p[0]} {p[1]}"),
    st.tuples(st.integers(1, 600), st.sampled_from(["m", "min", " minutes"])).map(lambda p: f"every {p[0]}{p[1]}"),
    st.tuples(st.integers(1, 168), st.sampled_from(["h", " hours"])).map(lambda p: f"every {p[0]}{p[1]}"),
    st.just("hourly"),
    st.tuples(st.dates(datetime(1990, 1, 1).date(), datetime(2100, 1, 1).date()), time_of_day()).map(
        lambda p: f"once {p[0].isoformat()} {p[1]}"
    ),
    st.sampled_from(["once tomorrow 10:00", "once today 23:59"]),
    cron_expression(),
    st.sampled_from(["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly"]),
)

starts = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


def _shuffle_case(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips + [False] * len(text), strict=False))


@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join)))
@settings(max_examples=400)
def test_parse_returns_a_schedule_or_raises_schedule_error(text: str) -> None:
    try:
        schedule = parse_schedule(text)
    except ScheduleError as exc:
        assert str(exc) and "\n" not in str(exc).replace(text, "")
    else:
        assert parse_schedule(schedule.text) == schedule


@given(valid_texts, st.sampled_from(ZONES), starts, st.lists(st.booleans(), max_size=30))
@settings(max_examples=300)
def test_normalized_text_round_trips(text: str, zone: str, now: datetime, flips: list[bool]) -> None:
    messy = "  " + _shuffle_case(text, flips).replace(" ", "   ") + " "
    try:
        stored = normalize_schedule(messy, zone, now)
    except ScheduleError:
        return  # e.g. a random cron day that never occurs in the chosen months
    assert parse_schedule(stored).text == stored
    assert normalize_schedule(stored, zone, now) == stored


def _schedule(text: str, now: datetime) -> Schedule | None:
    try:
        return parse_schedule(normalize_schedule(text, "UTC", now))
    except ScheduleError:
        return None


@given(valid_texts, st.sampled_from(ZONES), starts, st.integers(1, 12))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_next_runs_are_valid_increasing_instants_after_the_start(
    text: str, zone: str, after: datetime, count: int
) -> None:
    schedule = _schedule(text, after)
    if schedule is None:
        return
    runs = next_runs(schedule, zone, after, count)
    assert len(runs) <= count
    utc = [run.astimezone(UTC) for run in runs]
    assert all(a < b for a, b in zip([after, *utc], utc, strict=False))
    for run in runs:
        assert run.tzinfo == ZoneInfo(zone)
        # A valid instant: its wall time and offset are what the zone shows at that moment.
        assert run.astimezone(UTC).astimezone(ZoneInfo(zone)).isoformat() == run.isoformat()
        if isinstance(schedule, Calendar | Once):
            _assert_at_its_time_or_moved_by_a_gap(run, schedule, ZoneInfo(zone))


def _assert_at_its_time_or_moved_by_a_gap(run: datetime, schedule: Calendar | Once, zone: ZoneInfo) -> None:
    at = schedule.at if isinstance(schedule, Once) else schedule
    wall = run.replace(tzinfo=None)
    if (wall.hour, wall.minute) == (at.hour, at.minute):
        return
    # Only a gap moves a fixed time: the intended wall time did not exist that day
    # (or the day before, when a zone skipped a whole day).
    intended = [wall.replace(hour=at.hour, minute=at.minute) - timedelta(days=back) for back in (0, 1)]
    assert any(not _exists(candidate, zone) for candidate in intended), (run, schedule)


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    local = wall.replace(tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


@given(valid_texts, st.sampled_from(ZONES), starts, st.integers(1, 6))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_resuming_from_any_run_continues_the_same_sequence(text: str, zone: str, after: datetime, split: int) -> None:
    schedule = _schedule(text, after)
    if schedule is None:
        return
    runs = next_runs(schedule, zone, after, split + 4)
    if len(runs) > split:
        assert next_runs(schedule, zone, runs[split - 1], 4) == runs[split:]
        assert next_runs(schedule, zone, after, split) == runs[:split]


@given(st.one_of(natural_calendar(), natural_intervals), st.lists(st.booleans(), max_size=40))
@settings(max_examples=400)
def test_a_natural_phrase_is_its_canonical_form(pair: tuple[str, str], flips: list[bool]) -> None:
    text, canonical = pair
    messy = " " + _shuffle_case(text, flips).replace(" ", "  ") + " "
    schedule = parse_schedule(messy)
    assert schedule.text == canonical
    assert parse_schedule(canonical) == schedule  # the same form, hence the same next runs
