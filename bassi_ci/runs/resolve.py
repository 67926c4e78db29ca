"""Which task `bassi execute TASK` means, and where it runs.

TASK is, in this order: a path to a task file; a task id in the store
(BASSI_HOME/tasks); a task id in `.bassi/tasks/` of the current directory or one of
its parents up to the git repository's root. `--prompt` alone is the ad-hoc task.

Workspace: a task file's relative `workdir` is relative to the folder of the task
file; without `workdir` the run works in the current directory.
"""

from __future__ import annotations

from pathlib import Path

from bassi_ci.errors import TaskNotFound, UsageError
from bassi_ci.tasks.loader import TASK_SUFFIXES, load_task_file
from bassi_ci.tasks.model import SLUG_RE, Task
from bassi_ci.tasks.store import TaskStore

ADHOC_ID = "adhoc"


def resolve_task(spec: str | None, prompt: str | None, cwd: Path) -> Task:
    """The task to run; --prompt replaces the prompt of a named task."""
    if spec is None:
        if prompt is None:
            raise UsageError("give a TASK (id or task file) or --prompt TEXT; see 'bassi execute --help'")
        return Task(id=ADHOC_ID, name="ad-hoc prompt", prompt=prompt)
    task = _find(spec, cwd)
    if prompt is not None:
        from dataclasses import replace

        task = replace(task, prompt=prompt)
    return task


def _find(spec: str, cwd: Path) -> Task:
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = cwd / path
    looks_like_file = path.suffix.lower() in TASK_SUFFIXES or "/" in spec or "\\" in spec
    if path.is_file():
        return load_task_file(path)
    if looks_like_file:
        raise TaskNotFound(f"task file {spec} does not exist")
    if not SLUG_RE.match(spec):
        raise TaskNotFound(f"'{spec}' is neither a task file nor a task id (ids look like 'weekly-report')")
    store = TaskStore()
    if store.exists(spec):
        return store.get(spec)
    found = find_repo_task(spec, cwd)
    if found is not None:
        return load_task_file(found)
    raise TaskNotFound(
        f"no task named '{spec}' in {store.root} or in .bassi/tasks/ of this repository; see 'bassi schedule list'"
    )


def find_repo_task(task_id: str, cwd: Path) -> Path | None:
    """`.bassi/tasks/<id>.(yaml|yml|json)` from `cwd` up to the git root (only `cwd` outside git)."""
    folders = [cwd, *cwd.parents]
    if not any((folder / ".git").exists() for folder in folders):
        folders = [cwd]
    for folder in folders:
        for suffix in TASK_SUFFIXES:
            candidate = folder / ".bassi" / "tasks" / f"{task_id}{suffix}"
            if candidate.is_file():
                return candidate
        if (folder / ".git").exists():
            break
    return None


def task_workdir(task: Task, cwd: Path) -> Path:
    """The run's workspace, which must exist."""
    if task.workdir is None:
        workdir = cwd
    else:
        given = Path(task.workdir).expanduser()
        base = task.source.parent if task.source is not None else cwd
        workdir = given if given.is_absolute() else base / given
    workdir = workdir.resolve()
    if not workdir.is_dir():
        where = f" (set in {task.source})" if task.source else ""
        raise UsageError(f"the workspace {workdir} does not exist or is not a folder{where}")
    return workdir
