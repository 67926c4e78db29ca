"""Missed runs of the tasks that are installed into an OS scheduler, from the installation
registry and the run history, for `schedule list` (every task) and `schedule debug` (one).

The history is read once for all tasks, from the oldest due time any of them needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from bassi_ci.home import state_db_path
from bassi_ci.runs.stats import StatsKey
from bassi_ci.scheduling.missed import DueWindow, MissedRuns, due_window, missed_in
from bassi_ci.scheduling.registry import Installation, read_installations
from bassi_ci.tasks.lookup import history_key
from bassi_ci.tasks.model import Task


def installation_for(task: Task, installations: Mapping[str, Installation]) -> Installation | None:
    """The task's installation, if it was installed from this very task file (two task
    folders may hold a task with one id; only one of them can be installed)."""
    installation = installations.get(task.id)
    if installation is None or installation.task_file != history_key(task):
        return None
    return installation


def installed_since(installation: Installation | None) -> datetime | None:
    """When the installation was made; None when there is none or its time cannot be read."""
    if installation is None:
        return None
    try:
        return datetime.fromisoformat(installation.installed_at)
    except ValueError:
        return None


def missed_runs_of(tasks: Iterable[Task], now: datetime) -> dict[str, MissedRuns]:
    """Missed runs per task id, for the installed tasks among `tasks` (others are left out)."""
    installations = read_installations()
    if not installations:
        return {}
    windows: dict[str, tuple[Task, DueWindow]] = {}
    for task in tasks:
        installation = installation_for(task, installations)
        if installation is not None:
            windows[task.id] = (task, due_window(task, installed_since(installation), now))
    starts = [window.start for _, window in windows.values() if window.start is not None]
    if not starts:
        return {task_id: missed_in(window, ()) for task_id, (_, window) in windows.items()}
    # Lazy: `schedule list` without installed tasks never reads the history for this (~7 ms).
    from bassi_ci.runs.history import run_starts_since

    runs = run_starts_since(state_db_path(), windows, min(starts))
    return {task_id: missed_in(window, _starts_of(runs, task)) for task_id, (task, window) in windows.items()}


def missed_counts(tasks: Iterable[Task], now: datetime) -> dict[str, int]:
    """How many runs each installed task missed (`schedule list`)."""
    return {task_id: missed.count for task_id, missed in missed_runs_of(tasks, now).items()}


def _starts_of(runs: Mapping[StatsKey, list[datetime]], task: Task) -> list[datetime]:
    """The runs of this task file, and those recorded under its id before runs had keys."""
    key = history_key(task) or ""
    return [*runs.get((task.id, key), ()), *(runs.get((task.id, ""), ()) if key else ())]
