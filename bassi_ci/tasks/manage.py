"""Creating and changing tasks from command-line values, and summarising them for display.

Everything a task file could hold passes the same checks here as in the loader:
a task that `add` or `edit` accepts always loads again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bassi_ci.errors import UsageError
from bassi_ci.tasks.loader import check_task_semantics, validate_task_data
from bassi_ci.tasks.model import Task, slugify, task_from_dict


@dataclass(frozen=True)
class TaskOptions:
    """Values given on the command line; None means 'not given'."""

    when: str | None = None
    prompt: str | None = None
    timezone: str | None = None
    model: str | None = None
    timeout: str | None = None
    max_turns: int | None = None
    max_budget_usd: float | None = None
    tools: tuple[str, ...] | None = None
    workdir: str | None = None
    retries: int | None = None
    vars: dict[str, str] | None = None


def new_task(name: str, options: TaskOptions, now: datetime, default_zone: str) -> Task:
    """A validated Task for `schedule add`: the id comes from the name, the zone is explicit."""
    task_id = slugify(name)
    if not task_id:
        raise UsageError(f"the name {name!r} has no letters or digits to make a task id from")
    record: dict[str, Any] = {"id": task_id, "name": name.strip()}
    zone = options.timezone or default_zone
    return _apply(record, dataclasses.replace(options, timezone=zone), now)


def edited_task(task: Task, options: TaskOptions, now: datetime) -> Task:
    """The task with the given options changed, validated as a whole again."""
    return _apply(task.to_dict(), options, now, source=task.source)


def with_enabled(task: Task, enabled: bool) -> Task:
    return dataclasses.replace(task, enabled=enabled)


def _apply(record: dict[str, Any], options: TaskOptions, now: datetime, source: Path | None = None) -> Task:
    from bassi_ci.schedules import normalize_schedule

    record = dict(record)
    limits = dict(record.get("limits", {}))
    simple = {
        "prompt": options.prompt,
        "timezone": options.timezone,
        "model": options.model,
        "workdir": options.workdir,
        "retries": options.retries,
    }
    record.update({key: value for key, value in simple.items() if value is not None})
    if options.tools is not None:
        record["tools"] = list(options.tools)
    if options.vars is not None:
        record["vars"] = {**record.get("vars", {}), **options.vars}
    limit_values = {
        "timeout": _timeout_value(options.timeout),
        "max_turns": options.max_turns,
        "max_budget_usd": options.max_budget_usd,
    }
    limits.update({key: value for key, value in limit_values.items() if value is not None})
    record["limits"] = limits
    if options.when is not None:
        zone = record.get("timezone") or "UTC"
        record["schedule"] = normalize_schedule(options.when, zone, now)
    label = Path(f"task '{record['id']}'")
    validate_task_data(record, label)
    task = task_from_dict(record, source=source)
    check_task_semantics(task, label)
    return task


def _timeout_value(text: str | None) -> int | str | None:
    if text is None:
        return None
    return int(text) if text.isdigit() else text


def next_fire_times(task: Task, after: datetime, count: int) -> list[datetime]:
    """The next `count` runs of an enabled, scheduled task (empty otherwise)."""
    from bassi_ci.schedules import next_runs, parse_schedule

    if not task.enabled or task.schedule is None or task.timezone is None:
        return []
    return next_runs(parse_schedule(task.schedule), task.timezone, after, count)


def describe_schedule(task: Task) -> str:
    from bassi_ci.schedules import describe, parse_schedule

    if task.schedule is None:
        return "on demand"
    return describe(parse_schedule(task.schedule))
