"""Finding a task: the one place that turns what a user typed into a Task.

- `find_task` is what `bassi execute TASK` means by TASK, in this order: a path to a
  task file; a task id in the store (BASSI_HOME/tasks); a task id in `.bassi/tasks/`
  of the current folder or one of its parents up to the git repository's root.
- `load_folder` reads a whole folder of task files (`bassi ci generate`), and
  `find_in_folder` picks one task of such a folder by id (the GitHub Action).

Errors speak the caller's language: a TaskFolder carries the words its user knows the
folder by ("--tasks-dir", "the action's tasks-dir input"), so no command tells its user
to use a flag of another. Which task of a folder a spec names is decided in `_matching`
alone, so matching by name, ambiguity and did-you-mean have one place to grow.

Like all domain code this never prints and never imports click: every failure is a
BassiError (TaskNotFound, TaskFileError, UsageError) carrying its exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bassi_ci.errors import TaskFileError, TaskNotFound, UsageError
from bassi_ci.tasks.loader import TASK_SUFFIXES, load_task_file
from bassi_ci.tasks.model import SLUG_RE, Task
from bassi_ci.tasks.store import TaskStore

REPO_TASKS_DIR = Path(".bassi") / "tasks"


@dataclass(frozen=True)
class TaskFolder:
    """A folder of task files and how the caller's user names it, so errors point at the right knob."""

    path: Path
    named_by: str  # e.g. "--tasks-dir", "the action's tasks-dir input"


def load_folder(folder: TaskFolder) -> list[Task]:
    """Every task file in the folder, sorted by id.

    One broken file or a repeated id fails the whole folder: skipping it would silently
    drop a CI pipeline, and two tasks with one id would fight over the same files.
    """
    tasks: dict[str, Task] = {}
    for path in _task_files(folder):
        task = load_task_file(path)
        _refuse_repeated_id(task, tasks)
        tasks[task.id] = task
    return [tasks[task_id] for task_id in sorted(tasks)]


def find_in_folder(spec: str, folder: TaskFolder) -> Task:
    """The task of `folder` that `spec` names (today: its id)."""
    task = _matching(spec, load_folder(folder))
    if task is None:
        raise TaskNotFound(f"task '{spec}': not found in {folder.path}")
    return task


def find_task(spec: str, cwd: Path, store: TaskStore | None = None) -> Task:
    """The task `spec` names seen from `cwd`: a task file, else a task id (store first, then repository)."""
    path = _as_path(spec, cwd)
    if path.is_file():
        return load_task_file(path)
    if _looks_like_a_file(spec, path):
        raise TaskNotFound(f"task file {spec} does not exist")
    if not SLUG_RE.match(spec):
        raise TaskNotFound(f"'{spec}' is neither a task file nor a task id (ids look like 'weekly-report')")
    return _find_by_id(spec, cwd, store if store is not None else TaskStore())


def _task_files(folder: TaskFolder) -> list[Path]:
    """The folder's task files in name order, so the repeated-id error always names the same pair."""
    if not folder.path.is_dir():
        raise UsageError(f"{folder.path}: no such folder of task files (use {folder.named_by})")
    return sorted(p for p in folder.path.iterdir() if p.suffix.lower() in TASK_SUFFIXES and p.is_file())


def _refuse_repeated_id(task: Task, seen: dict[str, Task]) -> None:
    if task.id in seen:
        raise TaskFileError(f"{task.source}: task id '{task.id}' is also used by {seen[task.id].source}")


def _matching(spec: str, tasks: Iterable[Task]) -> Task | None:
    """The one rule for which task of a folder a spec names."""
    return next((task for task in tasks if task.id == spec), None)


def _as_path(spec: str, cwd: Path) -> Path:
    path = Path(spec).expanduser()
    return path if path.is_absolute() else cwd / path


def _looks_like_a_file(spec: str, path: Path) -> bool:
    """A spec with a task-file suffix or a path separator means a file: never look it up as an id."""
    return path.suffix.lower() in TASK_SUFFIXES or "/" in spec or "\\" in spec


def _find_by_id(task_id: str, cwd: Path, store: TaskStore) -> Task:
    task = store.find(task_id)
    if task is None:
        task = _find_in_repository(task_id, cwd)
    if task is None:
        raise TaskNotFound(
            f"no task named '{task_id}' in {store.root} or in {REPO_TASKS_DIR.as_posix()}/ of this repository; "
            "see 'bassi schedule list'"
        )
    return task


def _find_in_repository(task_id: str, cwd: Path) -> Task | None:
    """`.bassi/tasks/<id>.(yaml|yml|json)` in the nearest of `_repository_folders`."""
    for folder in _repository_folders(cwd):
        for suffix in TASK_SUFFIXES:
            candidate = folder / REPO_TASKS_DIR / f"{task_id}{suffix}"
            if candidate.is_file():
                return load_task_file(candidate)
    return None


def _repository_folders(cwd: Path) -> list[Path]:
    """`cwd` and its parents up to the git root: a repository's tasks reach its subfolders, never
    past it. Outside git only `cwd` counts, so a stray `.bassi` higher up is never picked."""
    folders = [cwd, *cwd.parents]
    for depth, folder in enumerate(folders):
        if (folder / ".git").exists():
            return folders[: depth + 1]
    return [cwd]
