"""next_runs remembers its answers (listing 1,000 tasks asks the same few questions); the
remembered answers must be the computed ones, and no caller can spoil them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules import next_runs, parse_schedule
from bassi_ci.schedules.nextrun import _cached_next_runs

QUESTIONS = [
    ("daily 02:30", "Europe/Berlin", "2027-03-27T12:00:00+00:00"),  # across the spring-forward gap
    ("every 30m", "Europe/Berlin", "2027-10-31T00:10:00+00:00"),  # across the repeated hour
    ("0 */2 * * 1-5", "America/New_York", "2027-03-14T05:00:00+00:00"),
    ("every 90m", "UTC", "2027-01-01T00:00:00+00:00"),
    ("once 2027-06-01 10:00", "Asia/Tokyo", "2027-01-01T00:00:00+00:00"),
]


@pytest.mark.parametrize(("text", "zone", "after"), QUESTIONS)
def test_remembered_answers_are_the_computed_ones(text: str, zone: str, after: str) -> None:
    schedule, start = parse_schedule(text), datetime.fromisoformat(after)
    computed = list(_cached_next_runs.__wrapped__(schedule, zone, start, 6))
    assert next_runs(schedule, zone, start, 6) == computed
    assert next_runs(schedule, zone, start, 6) == computed  # the second answer comes from the cache
    assert [t.utcoffset() for t in next_runs(schedule, zone, start, 6)] == [t.utcoffset() for t in computed]


def test_a_caller_changing_its_list_does_not_change_the_next_answer() -> None:
    schedule, start = parse_schedule("daily 09:00"), datetime(2027, 3, 10, tzinfo=UTC)
    first = next_runs(schedule, "Europe/Berlin", start, 3)
    first.clear()
    assert len(next_runs(schedule, "Europe/Berlin", start, 3)) == 3


def test_the_same_moment_written_in_another_offset_has_the_same_runs() -> None:
    schedule = parse_schedule("monday 08:30")
    utc = datetime(2027, 3, 10, 12, tzinfo=UTC)
    tokyo = utc.astimezone(timezone(timedelta(hours=9)))
    assert next_runs(schedule, "Europe/Berlin", tokyo, 4) == next_runs(schedule, "Europe/Berlin", utc, 4)


def test_errors_are_raised_every_time_not_remembered_as_answers() -> None:
    schedule = parse_schedule("daily 09:00")
    for _ in range(2):
        with pytest.raises(ScheduleError, match="time zone offset"):
            next_runs(schedule, "UTC", datetime(2027, 3, 10), 1)
        with pytest.raises(ScheduleError, match="unknown time zone"):
            next_runs(schedule, "Mars/Olympus", datetime(2027, 3, 10, tzinfo=UTC), 1)
