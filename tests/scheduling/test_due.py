"""The due-guard decides in the task's own zone, across DST changes, from the engine."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bassi_ci.scheduling.due import guard_argv, is_due
from tests.cli import ROOT


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "due"),
    [
        ("2027-03-22 08:00:00", True),  # 09:00 Berlin (CET, UTC+1)
        ("2027-03-22 08:01:29", True),  # a late wake-up inside the tolerance
        ("2027-03-22 08:01:31", False),  # too late: that run is not this one
        ("2027-03-22 07:59:59", False),  # a minute early
        ("2027-03-29 07:00:00", True),  # after Berlin's change: 09:00 CEST is 07:00 UTC
        ("2027-03-29 08:00:00", False),  # the winter instant is no longer due
    ],
)
def test_daily_berlin_is_due_at_nine_berlin_time_on_both_sides_of_the_change(now: str, due: bool) -> None:
    assert is_due("daily 09:00", "Europe/Berlin", _utc(now)) is due


def test_a_gap_time_is_due_at_the_end_of_the_gap() -> None:
    # 02:30 does not exist in Berlin on 2027-03-28; the DST policy runs it at 03:00 CEST = 01:00 UTC.
    assert is_due("daily 02:30", "Europe/Berlin", _utc("2027-03-28 01:00:00"))


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("schedule", "now", "due"),
    [
        ("daily 02:30", "2027-03-28 01:00:30", True),  # the gap's end (03:00 CEST), 30 s late
        ("daily 03:00", "2027-03-28 01:00:00", True),  # the first wall time after the gap
        ("daily 02:00", "2027-10-31 00:00:30", True),  # 02:00 CEST, the first pass of the hour
        ("daily 02:00", "2027-10-31 01:00:30", False),  # 02:00 CET, the second pass: already run
        ("daily 02:59", "2027-10-31 00:59:30", True),
    ],
)
def test_a_now_in_the_tasks_own_zone_decides_like_the_same_instant_in_utc(schedule: str, now: str, due: bool) -> None:
    # "now - 90 s" on a ZoneInfo datetime is wall-clock arithmetic, wrong across a DST change.
    instant = _utc(now)
    assert is_due(schedule, "Europe/Berlin", instant) is due
    assert is_due(schedule, "Europe/Berlin", instant.astimezone(BERLIN)) is due


def test_the_guard_runs_as_a_module_with_exit_codes(tmp_path: object) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = guard_argv(sys.executable, "daily 09:00", "Europe/Berlin")
    due = subprocess.run(argv, env={**env, "BASSI_NOW": "2027-03-22T08:00:30+00:00"}, capture_output=True, text=True)
    early = subprocess.run(argv, env={**env, "BASSI_NOW": "2027-03-22T07:00:00+00:00"}, capture_output=True, text=True)
    bad = subprocess.run([*argv[:-1], "Mars/Base"], env=env, capture_output=True, text=True)
    assert (due.returncode, due.stdout, due.stderr) == (0, "", "")
    assert (early.returncode, early.stdout, early.stderr) == (1, "", "")
    assert bad.returncode == 2 and "Mars/Base" in bad.stderr and "Traceback" not in bad.stderr
