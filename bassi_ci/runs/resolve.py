"""Which task `bassi execute TASK` runs, and where it runs.

TASK is found by `tasks.lookup.find_task` (a task file, a stored task, a task of this
repository); `--prompt` alone is the ad-hoc task.

Workspace (docs/design.md, "Where tasks live"): a repository task (a file in
`<repo>/.bassi/tasks/`) works in the repository root, and its relative `workdir` is relative
to that root — the same on a laptop and on a CI runner. Any other task file's relative
`workdir` is relative to the file's folder; without `workdir` it works in the current directory.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bassi_ci.errors import UsageError
from bassi_ci.tasks.lookup import find_task, repository_root_of
from bassi_ci.tasks.model import Task

ADHOC_ID = "adhoc"


def resolve_task(spec: str | None, prompt: str | None, cwd: Path) -> Task:
    """The task to run; --prompt replaces the prompt of a named task."""
    if spec is None:
        if prompt is None:
            raise UsageError("give a TASK (id or task file) or --prompt TEXT; see 'bassi execute --help'")
        return Task(id=ADHOC_ID, name="ad-hoc prompt", prompt=prompt)
    task = find_task(spec, cwd)
    return task if prompt is None else replace(task, prompt=prompt)


def task_workdir(task: Task, cwd: Path) -> Path:
    """The run's workspace, which must exist."""
    repo_root = repository_root_of(task)
    if task.workdir is None:
        workdir = repo_root or cwd
    else:
        given = Path(task.workdir).expanduser()
        base = repo_root or (task.source.parent if task.source is not None else cwd)
        workdir = given if given.is_absolute() else base / given
    workdir = workdir.resolve()
    if not workdir.is_dir():
        where = f" (set in {task.source})" if task.source else ""
        raise UsageError(f"the workspace {workdir} does not exist or is not a folder{where}")
    return workdir
