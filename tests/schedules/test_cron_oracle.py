"""Cron expressions: next_runs agrees with croniter and cronsim away from DST edges."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from cronsim import CronSim

from bassi_ci.schedules import next_runs, parse_schedule

EXPRESSIONS = [
    "* * * * *",
    "*/5 * * * *",
    "7,19,43 * * * *",
    "0 */3 * * *",
    "30 9 * * *",
    "0 9 * * 1-5",
    "0 9 * * MON-FRI",
    "15 14 1 * *",
    "0 0 1 1 *",
    "0 12 * JAN,JUL SUN",
    "0 0 1,15 * *",
    "0 9 1 * MON",  # day-of-month OR day-of-week
    "0 0 29 2 *",
    "0 8 31 * *",
    "5 4 * * 0",
    "5 4 * * 7",
    "0 22 * * 1-5",
    "*/15 9-17 * * 1-5",
    "0 0 * * 6,0",
    "10-20/5 3 * * *",
    "0 0 28-31 * *",
    "0 6 */10 * *",
    "59 23 31 12 *",
]

# Zones without DST, or start dates whose next runs stay away from DST changes
# (at a change the oracles follow different rules; see test_nextrun.py for ours).
STARTS = [
    ("UTC", datetime(2027, 2, 10, 13, 7, tzinfo=UTC)),
    ("UTC", datetime(2028, 12, 30, 23, 59, tzinfo=UTC)),
    ("Asia/Kolkata", datetime(2027, 6, 30, 22, 0, tzinfo=UTC)),
    ("Asia/Tokyo", datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
    ("Europe/Berlin", datetime(2027, 5, 3, 8, 0, tzinfo=UTC)),
    ("America/New_York", datetime(2027, 7, 4, 12, 0, tzinfo=UTC)),
]

COUNT = 8


@pytest.mark.parametrize("expression", EXPRESSIONS)
@pytest.mark.parametrize(("zone", "start"), STARTS)
def test_cron_next_runs_agree_with_croniter_and_cronsim(expression: str, zone: str, start: datetime) -> None:
    local_start = start.astimezone(ZoneInfo(zone))
    ours = next_runs(parse_schedule(expression), zone, start, COUNT)
    by_cronsim = [t for _, t in zip(range(COUNT), CronSim(expression, local_start), strict=False)]
    walker = croniter(expression, local_start)
    by_croniter = [walker.get_next(datetime) for _ in range(COUNT)]
    utc = [t.astimezone(UTC) for t in ours]
    assert utc == [t.astimezone(UTC) for t in by_cronsim]
    assert utc == [t.astimezone(UTC) for t in by_croniter]
