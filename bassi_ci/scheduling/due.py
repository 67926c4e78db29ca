"""The due-guard: "is this task due right now, in its own zone?" for OS schedulers without zones.

launchd (and a cron without CRON_TZ) fire in the machine's zone. A task in another zone is
installed to wake at every machine-zone wall time it could fall on across the year, and the
job first runs this guard, which asks the schedule engine itself: it exits 0 when one of the
task's fire times lies within the last TOLERANCE_S seconds (the OS may wake a little late),
and 1 quietly otherwise. That stays right across every DST change of both zones and every
year, with no re-install.

    python -m bassi_ci.scheduling.due --schedule 'daily 09:00' --tz Europe/Berlin
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from bassi_ci import clock
from bassi_ci.errors import BassiError
from bassi_ci.schedules import next_runs, parse_schedule

# launchd and cron start a job at second 0 of its minute, give or take a little; 90 s
# accepts a late wake-up yet can never match the neighbouring minute's run twice.
TOLERANCE_S = 90


def is_due(schedule: str, zone: str, now: datetime, tolerance_s: float = TOLERANCE_S) -> bool:
    """Whether a fire time of `schedule` (in `zone`) lies in (now - tolerance, now]."""
    # In UTC: subtracting from a datetime in a zone with DST is wall-clock arithmetic, so
    # "90 s earlier" would be an hour off across a change (and comparisons ignore `fold`).
    now = now.astimezone(UTC)
    start = now - timedelta(seconds=tolerance_s)
    upcoming = next_runs(parse_schedule(schedule), zone, start, 1)
    return bool(upcoming) and upcoming[0] <= now


def guard_argv(python: str, schedule: str, zone: str) -> tuple[str, ...]:
    """The argv that runs this guard with the given interpreter."""
    return (python, "-m", "bassi_ci.scheduling.due", "--schedule", schedule, "--tz", zone)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bassi_ci.scheduling.due", description=__doc__)
    parser.add_argument("--schedule", required=True, help="the task's schedule (canonical DSL or cron)")
    parser.add_argument("--tz", required=True, help="the task's IANA zone")
    args = parser.parse_args(argv)
    try:
        due = is_due(args.schedule, args.tz, clock.now())
    except BassiError as exc:
        print(f"bassi due-guard: {exc}", file=sys.stderr)
        return 2
    return 0 if due else 1


if __name__ == "__main__":
    sys.exit(main())
