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

from bassi_ci.home import tasks_dir
from bassi_ci.tasks.model import SLUG_RE


def stored_task_ids() -> list[str]:
    """The ids of the store's task files, read off their names alone (a store file is <id>.yaml),
    so a shell's TAB never waits for every task to be validated."""
    root = tasks_dir()
    try:
        names = [path.name for path in root.iterdir()]
    except OSError:
        return []
    return sorted(name[: -len(".yaml")] for name in names if name.endswith(".yaml") and SLUG_RE.match(name[:-5]))


def repository_task_ids(cwd: Path) -> list[str]:
    """The ids `bassi execute` finds in `.bassi/tasks/` of `cwd` or a parent up to the git root."""
    from bassi_ci.tasks.loader import TASK_SUFFIXES  # on TAB only (see the module's docstring)
    from bassi_ci.tasks.lookup import REPO_TASKS_DIR

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
    from bassi_ci.views.runs import task_ids_with_runs  # on TAB only (see the module's docstring)

    return _completions(incomplete, stored_task_ids, task_ids_with_runs)


def complete_runnable_task(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Shell completion of `bassi execute TASK`: stored ids, this repository's task ids, and files
    (TASK may be a task file; bash offers files only when no id matches)."""
    ids = _completions(incomplete, stored_task_ids, lambda: repository_task_ids(Path.cwd()))
    return [*(CompletionItem(task_id) for task_id in ids), CompletionItem(incomplete, type="file")]
