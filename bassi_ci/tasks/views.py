"""How tasks look in `schedule list` and `show`, for people and as stable JSON; which task ids
a shell completes, and the did-you-mean of an unknown one."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bassi_ci.errors import BassiError
from bassi_ci.runs.stats import TaskStats
from bassi_ci.tasks.loader import TASK_SUFFIXES
from bassi_ci.tasks.lookup import REPO_TASKS_DIR
from bassi_ci.tasks.manage import describe_schedule, next_fire_times
from bassi_ci.tasks.model import SLUG_RE, Task
from bassi_ci.tasks.store import StoredTask, TaskStore

if TYPE_CHECKING:
    import click
    from click.shell_completion import CompletionItem


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
    entries: Sequence[StoredTask], stats: Mapping[str, TaskStats], now: datetime, default_zone: str
) -> list[list[str]]:
    """One table row per stored task (columns LIST_HEADERS); a broken file shows its error instead of failing.

    Next and last run are both wall-clock times in the ZONE of their row: the task's zone, or
    `default_zone` (the machine's) for a task without one, which has no next run anyway.
    """
    rows = []
    for entry in entries:
        if entry.task is None:
            rows.append([entry.task_id, "-", "-", "-", "-", "-", f"error: {entry.error}"])
            continue
        task, stat = entry.task, stats.get(entry.task_id)
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
                "enabled" if task.enabled else "paused",
            ]
        )
    return rows


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


def stored_task_ids(store: TaskStore | None = None) -> list[str]:
    """The ids of the store's task files, read off their names alone (a store file is <id>.yaml),
    so a shell's TAB never waits for every task to be validated."""
    root = (store or TaskStore()).root
    try:
        names = [path.name for path in root.iterdir()]
    except OSError:
        return []
    return sorted(name[: -len(".yaml")] for name in names if name.endswith(".yaml") and SLUG_RE.match(name[:-5]))


def repository_task_ids(cwd: Path) -> list[str]:
    """The ids `bassi execute` finds in `.bassi/tasks/` of `cwd` or a parent up to the git root."""
    folders = [cwd, *cwd.parents]
    git_root = next((depth for depth, folder in enumerate(folders) if (folder / ".git").exists()), 0)
    ids: set[str] = set()
    for folder in folders[: git_root + 1]:
        try:
            paths = list((folder / REPO_TASKS_DIR).iterdir())
        except OSError:
            continue
        ids.update(path.stem for path in paths if path.suffix.lower() in TASK_SUFFIXES and SLUG_RE.match(path.stem))
    return sorted(ids)


def unknown_task_message(name: str, known: Iterable[str]) -> str:
    """'no task named …' with the closest known id, if one is close."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=1, cutoff=0.6)
    if close:
        return f"no task named '{name}'; did you mean '{close[0]}'? (see 'bassi schedule list')"
    return f"no task named '{name}'; see 'bassi schedule list'"


def _completions(incomplete: str, *sources: Callable[[], Iterable[str]]) -> list[str]:
    """Ids from `sources` that start with what was typed. Never raises: a TAB must not print a
    traceback into the command line, so a source that fails (a broken store or history) adds nothing."""
    ids: set[str] = set()
    for source in sources:
        try:
            ids.update(source())
        except Exception:  # any failure of a source only means fewer completions
            continue
    return sorted(task_id for task_id in ids if task_id.startswith(incomplete))


def complete_stored_task(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of NAME in `schedule show/pause/resume/edit/delete`: the store's task ids."""
    return _completions(incomplete, stored_task_ids)


def complete_task_with_runs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion for `schedule logs` and `history`: stored ids and ids that have runs."""
    # Lazy: runs.views opens the history (sqlite3); only a TAB on these arguments needs it.
    from bassi_ci.runs.views import task_ids_with_runs

    return _completions(incomplete, stored_task_ids, task_ids_with_runs)


def complete_runnable_task(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion of `bassi execute TASK`: stored ids, this repository's task ids, and files
    (TASK may be a task file; bash offers files only when no id matches)."""
    # Lazy: the one completion that needs click's item types; every bassi command has click loaded.
    from click.shell_completion import CompletionItem

    ids = _completions(incomplete, stored_task_ids, lambda: repository_task_ids(Path.cwd()))
    return [*(CompletionItem(task_id) for task_id in ids), CompletionItem(incomplete, type="file")]
