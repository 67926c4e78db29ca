"""Shell completion of task ids (TAB after `bassi execute`, `schedule show`, `history`, …).

Fast and quiet on purpose: ids come from file names, not from validating every task, and a
source that fails (a broken store or history) only means fewer completions, never an error.
Every command module names these callbacks when it is imported, but they run only on TAB: so
this module imports the task store and the history inside them (~60 ms `schedule preview`
would otherwise pay).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import click
from click.shell_completion import CompletionItem


def stored_task_ids(root: Path | None = None) -> list[str]:
    """The ids of a tasks folder (default: the personal store), from the store's validation
    cache when it is warm, so a shell's TAB rarely waits for every task to be validated."""
    from bassi_ci.tasks.store import TaskStore  # on TAB only (see the module's docstring)

    return sorted({entry.task_id for entry in TaskStore(root).entries()})


def repository_task_ids(cwd: Path) -> list[str]:
    """The ids `bassi execute` finds in this repository's `.bassi/tasks/`."""
    from bassi_ci.tasks.lookup import repository_tasks_dir  # on TAB only (see the module's docstring)

    folder = repository_tasks_dir(cwd)
    return stored_task_ids(folder) if folder is not None else []


def _chosen_folder(ctx: click.Context) -> Path | None:
    """The folder that --tasks-dir or --repo (typed before the TAB) chose; None for the store."""
    from bassi_ci.tasks.lookup import REPO_TASKS_DIR, git_root  # on TAB only

    if ctx.params.get("tasks_dir"):
        return Path(ctx.params["tasks_dir"]).expanduser()
    if ctx.params.get("repo"):
        root = git_root(Path.cwd())
        return root / REPO_TASKS_DIR if root else None
    return None


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
    """Shell completion of NAME in `schedule show/pause/resume/edit/delete`: the ids of the
    folder --tasks-dir/--repo chose, else of the personal store."""
    folder = _chosen_folder(ctx)
    return _completions(incomplete, lambda: stored_task_ids(folder))


def complete_task_with_runs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion for `schedule logs` and `history`: stored ids and ids that have runs."""
    from bassi_ci.views.runs import task_ids_with_runs  # on TAB only (see the module's docstring)

    return _completions(incomplete, stored_task_ids, task_ids_with_runs)


def complete_runnable_task(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion of `bassi execute TASK`: stored ids, this repository's task ids, and files
    (TASK may be a task file; bash offers files only when no id matches)."""
    ids = _completions(incomplete, stored_task_ids, lambda: repository_task_ids(Path.cwd()))
    return [*(CompletionItem(task_id) for task_id in ids), CompletionItem(incomplete, type="file")]
