"""How tasks look in `schedule list` and `show`, for people and as stable JSON; which task ids
a shell completes, and the did-you-mean of an unknown one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bassi_ci.errors import BassiError
from bassi_ci.runs.stats import StatsKey, TaskStats, stats_of
from bassi_ci.tasks.lookup import history_key
from bassi_ci.tasks.manage import describe_schedule, next_fire_times
from bassi_ci.tasks.model import Task
from bassi_ci.tasks.store import StoredTask


def task_summary(task: Task, stats: TaskStats | None, now: datetime, next_count: int = 0) -> dict[str, Any]:
    """The JSON shape of one task (documented in the README; keep field names stable)."""
    upcoming = _upcoming(task, now, max(next_count, 1))
    summary: dict[str, Any] = {
        "id": task.id,
        "name": task.name,
        "status": "enabled" if task.enabled else "paused",
        "schedule": task.schedule,
        "schedule_description": describe_schedule(task),
        "timezone": task.timezone,
        "next_run": upcoming[0] if upcoming else None,
        "last_run": stats.last_started_at if stats else None,
        "last_status": stats.last_status if stats else None,
        "runs": stats.runs if stats else 0,
        "successes": stats.successes if stats else 0,
        "failures": stats.failures if stats else 0,
        "success_rate": stats.success_rate if stats else None,
        "prompt": task.prompt,
        "model": task.model,
        "limits": {
            "timeout": task.limits.timeout_s,
            "max_turns": task.limits.max_turns,
            "max_budget_usd": task.limits.max_budget_usd,
        },
        "tools": list(task.tools),
        "workdir": task.workdir,
        "retries": task.retries,
        "vars": dict(task.vars),
        "path": str(task.source) if task.source else None,
    }
    if next_count:
        summary["next_runs"] = upcoming[:next_count]
    return summary


LIST_HEADERS = ["NAME", "SCHEDULE", "ZONE", "NEXT RUN", "LAST RUN", "RUNS", "STATUS"]


def task_rows(
    entries: Sequence[StoredTask],
    stats: Mapping[StatsKey, TaskStats],
    now: datetime,
    default_zone: str,
    missed: Mapping[str, int] | None = None,
    out_of_date: Set[str] = frozenset(),
) -> list[list[str]]:
    """One table row per stored task (columns LIST_HEADERS); a broken file shows its error instead of failing.

    Next and last run are both wall-clock times in the ZONE of their row: the task's zone, or
    `default_zone` (the machine's) for a task without one, which has no next run anyway.
    `missed` (task id -> missed runs of an installed task) adds ", N missed" to STATUS, and
    `out_of_date` (ids of installed tasks whose OS entry no longer matches the file) ", out of date".
    """
    rows = []
    for entry in entries:
        if entry.task is None:
            rows.append([entry.task_id, "-", "-", "-", "-", "-", f"error: {entry.error}"])
            continue
        task = entry.task
        stat = task_stats(stats, task)
        zone = task.timezone or default_zone
        upcoming = _upcoming(task, now, 1)
        rows.append(
            [
                task.id,
                describe_schedule(task),
                zone,
                _wall_clock(upcoming[0], zone) if upcoming else "-",
                _last_run(stat, zone),
                str(stat.runs) if stat else "0",
                _status(task, (missed or {}).get(task.id, 0), task.id in out_of_date),
            ]
        )
    return rows


def _status(task: Task, missed: int, out_of_date: bool) -> str:
    state = "enabled" if task.enabled else "paused"
    state = f"{state}, {missed} missed" if missed else state
    return f"{state}, out of date" if out_of_date else state


def task_stats(stats: Mapping[StatsKey, TaskStats], task: Task) -> TaskStats | None:
    """The run statistics of one task file. Without any history there is nothing to find, and
    resolving 1,000 file paths for the lookup would cost ~26 ms of `schedule list`."""
    return stats_of(stats, task.id, history_key(task)) if stats else None


def in_zone(iso: str, zone: str) -> str:
    """An ISO 8601 time with offset, as the same moment in `zone` ('…T10:00:00+01:00')."""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def _upcoming(task: Task, now: datetime, count: int) -> list[str]:
    try:
        return [when.isoformat() for when in next_fire_times(task, now, count)]
    except BassiError:
        return []


def _last_run(stat: TaskStats | None, zone: str) -> str:
    if stat is None or stat.last_started_at is None:
        return "never"
    return f"{_wall_clock(stat.last_started_at, zone)} {stat.last_status or ''}".strip()


def _wall_clock(iso: str, zone: str) -> str:
    """'2027-03-10T08:00:00.000+00:00' in Europe/Berlin -> '2027-03-10 09:00' (the row names the zone)."""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- names people type


def unknown_task_message(name: str, known: Iterable[str]) -> str:
    """'no task named …' with the closest known id, if one is close."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=1, cutoff=0.6)
    if close:
        return f"no task named '{name}'; did you mean '{close[0]}'? (see 'bassi schedule list')"
    return f"no task named '{name}'; see 'bassi schedule list'"
