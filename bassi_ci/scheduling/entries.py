"""The entry the OS scheduler should hold for a task: what `install` writes, and what
`schedule list` renders again to tell whether an installed entry is out of date (drift.py).

Kept apart from lifecycle.py, which needs the backends (and `subprocess`): `schedule list`
needs only this (~5 ms less per listing).
"""

from __future__ import annotations

from pathlib import Path

from bassi_ci import clock
from bassi_ci.home import bassi_home, logs_dir, tasks_dir
from bassi_ci.runs.resolve import task_workdir
from bassi_ci.scheduling.base import Entry, scheduled_command
from bassi_ci.scheduling.envfile import env_file_path
from bassi_ci.tasks.model import Task


def entry_for(task: Task, cwd: Path) -> Entry:
    """The entry the OS scheduler should hold for `task` (which has a schedule)."""
    assert task.schedule is not None
    workdir = task_workdir(task, cwd)
    return Entry(
        task_id=task.id,
        schedule=task.schedule,
        timezone=task.timezone or clock.local_zone_name(),
        command=scheduled_command(execute_spec(task), workdir, env_file_path(bassi_home())),
        workdir=workdir,
        log_dir=logs_dir() / task.id,
        enabled=task.enabled,
    )


def execute_spec(task: Task) -> str:
    """What the scheduled `bassi execute` is given: the id for a personal task, else the file."""
    if task.source is None or task.source.absolute().parent == tasks_dir().absolute():
        return task.id
    return str(task.source.absolute())
