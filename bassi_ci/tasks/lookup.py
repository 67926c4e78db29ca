"""Finding a task: the one place that turns what a user typed into a Task.

- `find_task` is what `bassi execute TASK` means by TASK: a path to a task file, else a task
  named (by id or unique name, see tasks.matching) in this repository's `.bassi/tasks/` or in
  the personal store (BASSI_HOME/tasks). The same task in both is an error naming both files:
  silently preferring one would run the wrong prompt.
- `load_folder` reads a whole folder of task files (`bassi ci generate`), and
  `find_in_folder` picks one task of such a folder (the GitHub Action).
- `repository_root_of` says whether a task is a repository task, whose `workdir` is relative
  to (and defaults to) the repository root.

Errors speak the caller's language: a TaskFolder carries the words its user knows the
folder by ("--tasks-dir", "the action's tasks-dir input"), so no command tells its user
to use a flag of another.

Like all domain code this never prints and never imports click: every failure is a
BassiError (TaskNotFound, TaskFileError, UsageError) carrying its exit code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bassi_ci.errors import TaskFileError, TaskNotFound, UsageError
from bassi_ci.home import tasks_dir
from bassi_ci.tasks.loader import TASK_SUFFIXES, load_task_file
from bassi_ci.tasks.matching import did_you_mean, match_task
from bassi_ci.tasks.model import Task
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
    if not folder.path.is_dir():
        raise UsageError(f"{folder.path}: no such folder of task files (use {folder.named_by})")
    entries = TaskStore(folder.path).entries()
    broken = [entry.error for entry in entries if entry.error]
    if broken:
        raise TaskFileError(min(broken))  # the same file every time: entries are sorted
    return [entry.task for entry in entries if entry.task]


def find_in_folder(spec: str, folder: TaskFolder) -> Task:
    """The task of `folder` that `spec` names (its id, or its name when unique)."""
    tasks = load_folder(folder)
    task = match_task(spec, tasks)
    if task is None:
        hint = did_you_mean(spec, [*(t.id for t in tasks), *(t.name for t in tasks)])
        raise TaskNotFound(f"task '{spec}': not found in {folder.path}{hint}")
    return task


def find_task(spec: str, cwd: Path, store: TaskStore | None = None) -> Task:
    """The task `spec` names seen from `cwd`: a task file, else a task of this repository or of
    the personal store (never both)."""
    path = _as_path(spec, cwd)
    if path.is_file():
        return load_task_file(path)
    if _looks_like_a_file(spec, path):
        raise TaskNotFound(f"task file {spec} does not exist")
    personal = store if store is not None else TaskStore()
    repo_dir = repository_tasks_dir(cwd)
    homes = [TaskStore(repo_dir)] if repo_dir is not None else []
    homes.append(personal)
    found = [task for task in (home.find(spec) for home in homes) if task is not None]
    if len(found) > 1:
        raise UsageError(
            f"'{spec}' names a task in {found[0].source} and one in {found[1].source}; "
            "rename or delete one of them, or give the task file's path"
        )
    if found:
        return found[0]
    raise TaskNotFound(_not_found(spec, homes, repo_dir))


def _not_found(spec: str, homes: list[TaskStore], repo_dir: Path | None) -> str:
    names = [name for home in homes for name in home.names()]
    where = f"{repo_dir} or {homes[-1].root}" if repo_dir is not None else str(homes[-1].root)
    listing = "'bassi schedule list' (--repo for this repository's tasks)"
    return f"no task named '{spec}' in {where}{did_you_mean(spec, names)}; see {listing}"


def repository_tasks_dir(cwd: Path) -> Path | None:
    """`.bassi/tasks/` of `cwd` or its nearest parent that has one, up to the git root; never
    the personal store (`~/.bassi/tasks` seen from `~`, or from a home folder kept in git)."""
    for folder in _repository_folders(cwd):
        candidate = folder / REPO_TASKS_DIR
        if candidate.is_dir() and not _is_personal_store(candidate):
            return candidate
    return None


def git_root(cwd: Path) -> Path | None:
    """The root of the git repository `cwd` lies in (None outside one)."""
    return next((folder for folder in (cwd, *cwd.parents) if (folder / ".git").exists()), None)


def repository_root_of(task: Task) -> Path | None:
    """The repository root of a task kept in `<root>/.bassi/tasks/`, else None."""
    return repository_root_of_folder(task.source.parent) if task.source is not None else None


def repository_root_of_folder(folder: Path) -> Path | None:
    """`<root>` for a folder `<root>/.bassi/tasks`, else None.

    The personal store is never a repository's, although under the default BASSI_HOME it is
    `~/.bassi/tasks`: taking `~` for a repository root made personal tasks work in `~`.
    """
    folder = folder.absolute()
    if folder.name != REPO_TASKS_DIR.name or folder.parent.name != REPO_TASKS_DIR.parent.name:
        return None
    if _is_personal_store(folder):
        return None
    return folder.parent.parent


def _is_personal_store(folder: Path) -> bool:
    return folder.resolve() == tasks_dir().resolve()


def history_key(task: Task) -> str | None:
    """What the run history keeps a task's runs under, beside its id: the task file's real path.
    Two tasks with one id in different files (the bundled example and a personal task) never
    share runs. None for an ad-hoc prompt."""
    return str(task.source.resolve()) if task.source is not None else None


def _as_path(spec: str, cwd: Path) -> Path:
    path = Path(spec).expanduser()
    return path if path.is_absolute() else cwd / path


def _looks_like_a_file(spec: str, path: Path) -> bool:
    """A spec with a task-file suffix or a path separator means a file: never look it up as an id."""
    return path.suffix.lower() in TASK_SUFFIXES or "/" in spec or "\\" in spec


def _repository_folders(cwd: Path) -> list[Path]:
    """`cwd` and its parents up to the git root: a repository's tasks reach its subfolders, never
    past it. Outside git only `cwd` counts, so a stray `.bassi` higher up is never picked."""
    folders = [cwd, *cwd.parents]
    for depth, folder in enumerate(folders):
        if (folder / ".git").exists():
            return folders[: depth + 1]
    return [cwd]
