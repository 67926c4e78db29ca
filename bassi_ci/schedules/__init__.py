"""The schedule engine: parse the DSL, compute next runs, render for cron/systemd/launchd.

Pure functions, no I/O. See `parse` for the grammar and `nextrun` for the DST policy.
"""

from __future__ import annotations

from bassi_ci.schedules.describe import describe
from bassi_ci.schedules.model import Calendar, Cron, Interval, Once, Schedule
from bassi_ci.schedules.nextrun import next_run, next_runs
from bassi_ci.schedules.parse import normalize_schedule, parse_schedule
from bassi_ci.schedules.render import systemd_timer_spec, to_cron, to_launchd, to_oncalendar
from bassi_ci.schedules.zones import validate_timezone

__all__ = [
    "Calendar",
    "Cron",
    "Interval",
    "Once",
    "Schedule",
    "describe",
    "next_run",
    "next_runs",
    "normalize_schedule",
    "parse_schedule",
    "systemd_timer_spec",
    "to_cron",
    "to_launchd",
    "to_oncalendar",
    "validate_timezone",
]
