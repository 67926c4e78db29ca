"""How tasks look in `schedule list` and `show`, for people and as stable JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bassi_ci.errors import BassiError
from bassi_ci.runs.stats import TaskStats
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


def task_rows(entries: Sequence[StoredTask], stats: Mapping[str, TaskStats], now: datetime) -> list[list[str]]:
    """One table row per stored task; a broken file shows its error instead of failing."""
    rows = []
    for entry in entries:
        if entry.task is None:
            rows.append([entry.task_id, "-", "-", "-", "-", f"error: {entry.error}"])
            continue
        task, stat = entry.task, stats.get(entry.task_id)
        upcoming = _upcoming(task, now, 1)
        rows.append(
            [
                task.id,
                describe_schedule(task),
                _short_time(upcoming[0]) if upcoming else "-",
                _last_run(stat),
                str(stat.runs) if stat else "0",
                "enabled" if task.enabled else "paused",
            ]
        )
    return rows


def _upcoming(task: Task, now: datetime, count: int) -> list[str]:
    try:
        return [when.isoformat() for when in next_fire_times(task, now, count)]
    except BassiError:
        return []


def _last_run(stat: TaskStats | None) -> str:
    if stat is None or stat.last_started_at is None:
        return "never"
    return f"{_short_time(stat.last_started_at)} {stat.last_status or ''}".strip()


def _short_time(iso: str) -> str:
    """'2027-03-10T09:00:00+01:00' -> '2027-03-10 09:00 +01:00' (readable, still exact)."""
    when = datetime.fromisoformat(iso)
    return when.strftime("%Y-%m-%d %H:%M %z")[:-2] + ":" + when.strftime("%z")[-2:]
