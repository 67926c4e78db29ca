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
from bassi_ci.schedules import describe, next_runs, normalize_schedule, parse_schedule
from bassi_ci.tasks.loader import check_task_semantics, validate_task_data
from bassi_ci.tasks.lookup import repository_root_of_folder
from bassi_ci.tasks.model import Task, duration_option, slugify, task_from_dict
from bassi_ci.tasks.templating import check_task_templates


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


def stored_workdir(given: Path, folder: Path) -> str:
    """How a --workdir is written into a task of `folder` (docs/design.md, "Where tasks live").

    A repository task keeps it relative to the repository root, so it means the same folder
    in every clone and on every CI runner; it must lie inside the repository. Any other task
    keeps it absolute: a personal task's file says nothing about where it should work.
    """
    absolute = given.expanduser().resolve()
    repo_root = repository_root_of_folder(folder)
    if repo_root is None:
        return str(absolute)
    root = repo_root.resolve()
    if absolute != root and root not in absolute.parents:
        raise UsageError(f"--workdir {given}: a repository task must work inside the repository {root}")
    return absolute.relative_to(root).as_posix() or "."


def default_workdir(folder: Path, cwd: Path) -> str | None:
    """A new task's workdir when none is given: the current folder for a personal task (captured
    now, as the OS scheduler will start it elsewhere); none for a repository task, which works
    in the repository root."""
    return None if repository_root_of_folder(folder) is not None else str(cwd.resolve())


def new_task(name: str, options: TaskOptions, now: datetime, default_zone: str, task_id: str | None = None) -> Task:
    """A validated Task for `schedule add`: the id comes from the name, the zone is explicit."""
    task_id = task_id or slugify(name)
    if not task_id:
        raise UsageError(
            f"cannot make a task id from the name {name!r} (ids use a-z, 0-9 and '-'); "
            "give one with --id, e.g. --id weekly-report"
        )
    record: dict[str, Any] = {"id": task_id, "name": name.strip() or task_id}
    _check_zone_option(options.timezone)
    zone = options.timezone or default_zone
    task = _apply(record, dataclasses.replace(options, timezone=zone), now)
    _refuse_past_once(task, now)
    return task


def edited_task(task: Task, options: TaskOptions, now: datetime, default_zone: str) -> Task:
    """The task with the given options changed, validated as a whole again.

    A task that gets its first schedule also gets the machine's zone, as `add` does.
    """
    _check_zone_option(options.timezone)
    if options.when is not None and task.timezone is None and options.timezone is None:
        options = dataclasses.replace(options, timezone=default_zone)
    new = _apply(task.to_dict(), options, now, source=task.source)
    if options.when is not None:
        _refuse_past_once(new, now)
    return new


def _check_zone_option(zone: str | None) -> None:
    if zone is not None and not zone.strip():
        raise UsageError("--tz is empty; give an IANA zone such as Europe/Berlin, or leave it out")


def _refuse_past_once(task: Task, now: datetime) -> None:
    if task.schedule and task.schedule.startswith("once ") and not next_fire_times(task, now, 1):
        raise UsageError(f"'{task.schedule}' is in the past in {task.timezone}; pick a later time")


def with_enabled(task: Task, enabled: bool) -> Task:
    return dataclasses.replace(task, enabled=enabled)


def _apply(record: dict[str, Any], options: TaskOptions, now: datetime, source: Path | None = None) -> Task:

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
        "timeout": duration_option(options.timeout),
        "max_turns": options.max_turns,
        "max_budget_usd": options.max_budget_usd,
    }
    limits.update({key: value for key, value in limit_values.items() if value is not None})
    record["limits"] = limits
    if options.when is not None:
        record["schedule"] = normalize_schedule(options.when, record.get("timezone") or "UTC", now)
    label = Path(f"task '{record['id']}'")
    validate_task_data(record, label)
    task = task_from_dict(record, source=source)
    check_task_semantics(task, label)
    check_task_templates(task, str(label))
    return task


def next_fire_times(task: Task, after: datetime, count: int) -> list[datetime]:
    """The next `count` runs of an enabled, scheduled task (empty otherwise)."""

    if not task.enabled or task.schedule is None or task.timezone is None:
        return []
    return next_runs(parse_schedule(task.schedule), task.timezone, after, count)


def describe_schedule(task: Task) -> str:

    if task.schedule is None:
        return "on demand"
    return describe(parse_schedule(task.schedule))
