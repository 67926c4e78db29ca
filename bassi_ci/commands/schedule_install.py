"""What `bassi schedule add|edit|install|uninstall|pause|resume|delete` print and write around
the OS scheduler: dry runs, the lines saying what changed, the env file, and which tasks
`install --all` updates.

The decisions live in bassi_ci.scheduling.lifecycle; this module only talks to the user.
Imported lazily by commands/schedule.py: `schedule list` and `preview` never need it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bassi_ci import output
from bassi_ci.errors import BassiError
from bassi_ci.home import bassi_home
from bassi_ci.scheduling.drift import differences
from bassi_ci.scheduling.envfile import env_file_path, render_env_file, write_env_file
from bassi_ci.scheduling.installed import installation_for
from bassi_ci.scheduling.lifecycle import Change, Lifecycle, change_lines
from bassi_ci.scheduling.registry import read_installations
from bassi_ci.tasks.lookup import history_key
from bassi_ci.tasks.model import Task
from bassi_ci.tasks.store import TaskStore

LIFECYCLE = Lifecycle()
UP_TO_DATE = "Every installed task is up to date; nothing to do."
UP_TO_DATE_BUT_UNREADABLE = "Every installed task that could be read is up to date; nothing to do."


def print_dry_run(change: Change | None, task_file: tuple[Path, str] | None, as_json: bool) -> None:
    """Everything the command would write and run, and nothing changed.

    `task_file` is the (path, text) of the task file the command would write, if any.
    """
    env_path = env_file_path(bassi_home())
    creates_env = change is not None and change.install is not None and not env_path.exists()
    if as_json:
        document: dict[str, Any] = change.to_json() if change is not None else {"backend": None}
        if task_file is not None:
            document["task_file"] = {"path": str(task_file[0]), "content": task_file[1]}
        document["env_file"] = {"path": str(env_path), "created": creates_env}
        output.print_json(document)
        return
    output.echo("Dry run: nothing was changed.")
    if task_file is not None:
        output.echo(f"Would write the task file {task_file[0]}")
        output.echo("\n".join(f"    {line}" for line in task_file[1].splitlines()))
    if creates_env:
        output.echo(f"Would write {env_path} (the environment of scheduled runs: PATH, LANG, BASSI_HOME)")
    if change is None:
        output.echo("Would not touch the OS scheduler.")
        return
    for line in change_lines(change, dry_run=True):
        output.echo(line)
    print_notes(change)


def print_change(change: Change) -> None:
    """One line per file written or removed, crontab update and command run."""
    for line in change_lines(change, dry_run=False):
        output.echo(line)
    print_notes(change)


def print_notes(change: Change) -> None:
    for step in change.steps:
        for note in step.plan.notes:
            output.note(f"Note: {note}")


def ensure_env_file(store_key: bool) -> Path | None:
    """Write BASSI_HOME/env unless it exists (it is the user's then); the path when written.

    `store_key` copies the API key's value into the file: a risk the flag's help names.
    """
    path = env_file_path(bassi_home())
    if write_env_file(path, render_env_file(os.environ, bassi_home(), include_key=store_key)):
        return path
    if store_key:
        output.note(f"--store-key: {path} exists and is kept as it is; put the key there yourself if you want it")
    return None


def print_env_file(path: Path | None, store_key: bool) -> None:
    """Say that the env file was written (nothing when an existing one was kept)."""
    if path is None:
        return
    keys = "with the API key's value: keep it private" if store_key else "keys are not copied into it"
    output.echo(f"Wrote {path} (the environment of scheduled runs; {keys})")


def out_of_date_changes(store: TaskStore, cwd: Path) -> list[tuple[str, Change]]:
    """`install --all`: per installed task of the folder whose entry is out of date, the change
    that brings it in step with the file (an uninstall when the file has no schedule now)."""
    installations = read_installations()
    changes: list[tuple[str, Change]] = []
    for task in (entry.task for entry in store.entries() if entry.task is not None):
        installation = installation_for(task, installations)
        if installation is None or not differences(task, installation):
            continue
        # A task without a workdir of its own keeps running where it was installed from.
        here = Path(str((installation.entry or {}).get("workdir", cwd)))
        change = _planned_update(task, here)
        if change is not None:
            changes.append((task.id, change))
    return changes


def unreadable_installed(store: TaskStore) -> list[tuple[str, str]]:
    """(task id, file) of the installations from this folder whose file is gone or cannot be
    loaded: `install --all` cannot check them, yet their OS entries still fire."""
    loaded = {history_key(entry.task) for entry in store.entries() if entry.task is not None}
    return [
        (installation.task_id, installation.task_file)
        for installation in read_installations().values()
        if Path(installation.task_file).parent == store.real_root and installation.task_file not in loaded
    ]


def note_unreadable(store: TaskStore) -> bool:
    """One note per installed task whose file cannot be read; whether there was any."""
    broken = unreadable_installed(store)
    folder = f" {store.flag}" if store.flag else ""
    for task_id, task_file in broken:
        output.note(
            f"task '{task_id}' is installed but its file {task_file} is missing or cannot be loaded, so it was"
            f" not checked; fix the file, or remove its entry with 'bassi schedule uninstall {task_id}{folder}'"
        )
    return bool(broken)


def up_to_date(unreadable: bool) -> str:
    """The line of an `install --all` with nothing to update (not 'every' when some went unchecked)."""
    return UP_TO_DATE_BUT_UNREADABLE if unreadable else UP_TO_DATE


def _planned_update(task: Task, here: Path) -> Change | None:
    """The change bringing one task in step; a task that cannot be installed now (a schedule
    its backend cannot hold, say) stops `install --all` before anything changed, naming it."""
    try:
        if task.schedule is None:
            return LIFECYCLE.plan_uninstall(task.id, task)
        return LIFECYCLE.plan_install(task, None, here)
    except BassiError as exc:
        exc.args = (f"cannot update task '{task.id}', so nothing was changed: {exc}",)
        raise


def print_dry_runs(changes: list[tuple[str, Change]], as_json: bool, unreadable: bool) -> None:
    """`install --all --dry-run`: every change it would make, and nothing changed."""
    if as_json:
        output.print_json([{"id": task_id, **change.to_json()} for task_id, change in changes])
        return
    output.echo("Dry run: nothing was changed.")
    if not changes:
        output.echo(up_to_date(unreadable))
    for task_id, change in changes:
        output.echo(f"Would update task '{task_id}':")
        for line in change_lines(change, dry_run=True):
            output.echo(f"  {line}")
        print_notes(change)
