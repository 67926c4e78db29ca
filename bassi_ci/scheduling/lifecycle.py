"""A task's life in the OS scheduler: install, uninstall, pause/resume, move between backends.

The `bassi schedule` commands stay thin: they ask this module for a `Change` (the plans of
every backend involved, made without touching anything), print it for `--dry-run`, or
`apply` it, which also keeps the installation registry (registry.py) in step.

Decisions (docs/design.md, "Local scheduling"):

* Which backend. An explicit `--backend` wins. Otherwise a task that is installed stays with
  the backend it was installed with (the registry says which); a new one gets `auto_backend()`.
* Moving. A task installed with another backend than the one asked for is moved: the new
  entry is installed first, then the old one removed; when the removal fails the new entry is
  removed again, so the task is never left in two schedulers, nor in none.
* One id, one installation. OS entries are named by task id, so a task whose id is installed
  from another task file is refused, naming that file.
* What runs. A task of the personal store runs as `bassi execute --ci <id>`; a task of any
  other folder (`--tasks-dir`, `--repo`) by its absolute file path, because the scheduled
  command does not know which folder the id belongs to.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bassi_ci import clock
from bassi_ci.errors import ScheduleError, StoreError, UsageError
from bassi_ci.home import bassi_home
from bassi_ci.scheduling.backends import auto_backend, backend_named
from bassi_ci.scheduling.base import Backend, Entry, Plan, SchedulerError
from bassi_ci.scheduling.entries import entry_for
from bassi_ci.scheduling.registry import (
    Installation,
    forget_installation,
    installation_of,
    read_installations,
    record_entry,
    record_installation,
)
from bassi_ci.tasks.lookup import history_key
from bassi_ci.tasks.model import Task

AUTO = "auto"


@dataclass(frozen=True)
class Step:
    """One backend's plan within a change."""

    backend: str
    plan: Plan


@dataclass(frozen=True)
class Change:
    """Everything one lifecycle command does to the OS schedulers, in order.

    `install` is the plan that installs or changes the task's entry (None when nothing is
    installed), `remove` the plan that takes an entry out of another backend (a move) or out
    of the task's own backend (uninstall).
    """

    task_id: str
    task_file: str | None
    install: Step | None = None
    remove: Step | None = None
    # The inputs of the entry `install` writes (Entry.inputs), for the registry: `schedule list`
    # compares them with the task file later to find entries that are out of date.
    entry: dict[str, Any] | None = None

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(step for step in (self.install, self.remove) if step is not None)

    def to_json(self) -> dict[str, Any]:
        """The `--dry-run --json` document: the DESIGN's plan shape for the main step, plus
        `notes` and, for a move, `uninstall` (the old backend's plan)."""
        main = self.install or self.remove
        document: dict[str, Any] = main.plan.to_json() if main else {"backend": None, "files": [], "crontab": None}
        document.setdefault("commands", [])
        document["notes"] = [note for step in self.steps for note in step.plan.notes]
        if self.install is not None and self.remove is not None:
            document["uninstall"] = self.remove.plan.to_json()
        return document


BackendFor = Callable[[str], Backend]


@dataclass(frozen=True)
class Lifecycle:
    """The lifecycle operations, with the backends and the auto choice injectable for tests."""

    backend_for: BackendFor = backend_named
    auto: Callable[[], str] = auto_backend

    # -- planning: nothing changes ----------------------------------------------------------

    def plan_install(self, task: Task, requested: str | None, cwd: Path) -> Change:
        """Install or replace `task`'s entry (a paused task is installed disabled)."""
        check_installable(task)
        check_owner(task)
        installed = installation_of(task.id)
        name = self.choose(requested, installed)
        backend = self.backend_for(name)
        if installed is None:
            check_unclaimed(backend, task.id)
        entry = entry_for(task, cwd)
        install = Step(name, _planned(backend, entry))
        remove = None
        if installed is not None and installed.backend != name:
            remove = Step(installed.backend, self.backend_for(installed.backend).plan_uninstall(task.id))
        return Change(task.id, history_key(task), install=install, remove=remove, entry=entry.inputs())

    def plan_reinstall(self, before: Task, after: Task, requested: str | None, cwd: Path) -> Change | None:
        """After an edit: install an installed task again when its entry changed, or when
        `requested` names another backend; None when the OS scheduler needs no change."""
        if not self.installed_here(before):
            return None
        installed = installation_of(before.id)
        assert installed is not None
        if after.schedule is None:
            return self.plan_uninstall(before.id, before)
        moves = self.choose(requested, installed) != installed.backend
        return self.plan_install(after, requested, cwd) if moves or entry_changed(before, after, cwd) else None

    def installed_here(self, task: Task) -> bool:
        """Whether the registry holds an installation of this very task file."""
        installed = installation_of(task.id)
        return installed is not None and installed.task_file == history_key(task)

    def plan_uninstall(self, task_id: str, task: Task | None) -> Change | None:
        """Remove the task's entry; None when the registry knows no installation of it."""
        installed = installation_of(task_id)
        if installed is None:
            return None
        if task is not None:
            check_owner(task)
        plan = self.backend_for(installed.backend).plan_uninstall(task_id)
        return Change(task_id, installed.task_file, remove=Step(installed.backend, plan))

    def plan_uninstall_file(self, task_file: Path) -> Change | None:
        """Remove the entry installed from `task_file` (which may no longer load); None when
        the registry knows no installation from it."""
        key = str(task_file.resolve())
        found = next((item for item in read_installations().values() if item.task_file == key), None)
        return self.plan_uninstall(found.task_id, None) if found is not None else None

    def plan_enable(self, task: Task, enabled: bool, cwd: Path) -> Change | None:
        """Pause or resume the installed entry; None when the task is not installed."""
        installed = installation_of(task.id)
        if installed is None or task.schedule is None:
            return None
        check_owner(task)
        entry = dataclasses.replace(entry_for(task, cwd), enabled=enabled)
        plan = self.backend_for(installed.backend).plan_enable(entry, enabled)
        return Change(task.id, installed.task_file, install=Step(installed.backend, plan), entry=entry.inputs())

    def choose(self, requested: str | None, installed: Installation | None) -> str:
        if requested not in (None, AUTO):
            assert requested is not None
            return requested
        return installed.backend if installed is not None else self.auto()

    # -- applying: all or nothing -----------------------------------------------------------

    def apply(self, change: Change, *, record: bool = True) -> None:
        """Make the change real and keep the registry in step; on failure nothing changed.

        `record=False` (pause) leaves the registry's install time alone; a resume records a new
        one, so due times while the task was paused never count as missed runs. A move records
        the new backend before the old entry goes, so a registry that cannot be written stops
        it while the task is still in the old scheduler, never in none.
        """
        if change.install is None:
            if change.remove is not None:
                self.backend_for(change.remove.backend).apply(change.remove.plan)
            forget_installation(change.task_id)
            return
        previous = installation_of(change.task_id) if change.remove is not None else None
        self.backend_for(change.install.backend).apply(change.install.plan)
        if change.remove is None:
            if record:
                self._record(change, change.install)
            elif change.entry is not None:  # a pause: the entry changed, the watch for missed runs goes on
                record_entry(change.task_id, change.entry)
            return
        self._record(change, change.install)
        try:
            self.backend_for(change.remove.backend).apply(change.remove.plan)
        except SchedulerError:  # a failed move: take the new entry out again, as the registry had it
            self._undo_install(change.install, change.task_id)
            if previous is not None:
                with contextlib.suppress(StoreError):  # it was written a moment ago; the move's error counts
                    record_installation(previous)
            raise

    def _record(self, change: Change, install: Step) -> None:
        """Note the installation; an entry the registry cannot hold is taken out again, as
        nothing would ever find it to remove it."""
        assert change.task_file is not None
        now = clock.utc_iso(clock.now())
        try:
            record_installation(Installation(change.task_id, change.task_file, install.backend, now, change.entry))
        except StoreError:
            self._undo_install(install, change.task_id)
            raise

    def _undo_install(self, step: Step, task_id: str) -> None:
        backend = self.backend_for(step.backend)
        with contextlib.suppress(SchedulerError):  # the error that stopped the move is the one to report
            backend.apply(backend.plan_uninstall(task_id))


def check_installable(task: Task) -> None:
    """Only a task with a schedule has anything to install."""
    if task.schedule is None:
        raise UsageError(
            f"task '{task.id}' has no schedule (it runs on demand), so there is nothing to install;"
            f" give it one with 'bassi schedule edit {task.id} --when ...' or run it with 'bassi execute {task.id}'"
        )


def check_owner(task: Task) -> None:
    """Refuse a task whose id is installed from another task file (entries are named by id)."""
    installed = installation_of(task.id)
    if installed is None or installed.task_file == history_key(task):
        return
    raise SchedulerError(
        f"another task with the id '{task.id}' is installed with {installed.backend} from"
        f" {installed.task_file}; uninstall that one first (bassi schedule uninstall {task.id}"
        f" --tasks-dir {shlex.quote(str(Path(installed.task_file).parent))}) or give this task another id"
    )


def check_unclaimed(backend: Backend, task_id: str) -> None:
    """Refuse to replace an entry for this id that the registry does not know: it was installed
    by a bassi with another BASSI_HOME (which shares the user's crontab and unit folder), or
    its record was lost. Replacing it would take over another installation's task."""
    if backend.has_entry(task_id):
        raise SchedulerError(
            f"{backend.name} already has an entry for the task id '{task_id}' that this BASSI_HOME"
            f" ({bassi_home()}) did not install (another BASSI_HOME's, or one whose record was lost);"
            f" uninstall it from the bassi that installed it, or remove it by hand"
            f" ({_where(backend.name, task_id)}), or give this task another id"
        )


def _where(backend: str, task_id: str) -> str:
    return {
        "cron": "crontab -e",
        "systemd": f"systemctl --user disable --now bassi-{task_id}.timer, then delete its two unit files",
        "launchd": f"launchctl bootout gui/$(id -u)/dev.bassi-ci.{task_id}, then delete its plist",
    }.get(backend, "see 'bassi schedule debug'")


def entry_changed(before: Task, after: Task, cwd: Path) -> bool:
    """Whether an edit changed what the OS scheduler holds (schedule, zone, workdir, enabled)."""
    if before.schedule is None or after.schedule is None:
        return before.schedule != after.schedule
    try:
        old = entry_for(before, cwd)
    except UsageError:  # the old workdir is gone: whatever the edit did, install afresh
        return True
    return old != entry_for(after, cwd)


def change_lines(change: Change, *, dry_run: bool) -> list[str]:
    """What the change does (or, for a dry run, would do), one line per file, crontab or command."""
    lines: list[str] = []
    for step in change.steps:
        lines += plan_lines(step.plan, dry_run=dry_run)
    return lines


def plan_lines(plan: Plan, *, dry_run: bool) -> list[str]:
    """`Wrote PATH`, `Removed PATH`, `Updated the crontab`, `Ran: ARGV`, in the order they happen;
    a dry run says "Would …" and shows every content in full."""
    verbs = _DRY_VERBS if dry_run else _VERBS
    lines = [f"{verbs['run']}: {shlex.join(argv)}" for argv in plan.commands_before]
    for change in plan.files:
        lines.append(f"{verbs['write' if change.content is not None else 'remove']} {change.path}")
        if dry_run and change.content is not None:
            lines += _indented(change.content)
    if plan.crontab is not None:
        lines.append(verbs["crontab"])
        if dry_run:
            lines += _indented(plan.crontab)
    lines += [f"{verbs['run']}: {shlex.join(argv)}" for argv in plan.commands]
    return lines


_VERBS = {"run": "Ran", "write": "Wrote", "remove": "Removed", "crontab": "Updated the crontab"}
_DRY_VERBS = {
    "run": "Would run",
    "write": "Would write",
    "remove": "Would remove",
    "crontab": "Would set the crontab to:",
}


def _indented(text: str) -> list[str]:
    return [f"    {line}" if line else "" for line in text.splitlines()]


def _planned(backend: Backend, entry: Entry) -> Plan:
    """The backend's install plan; a schedule it cannot express is a one-line error with a way out."""
    try:
        return backend.plan_install(entry)
    except ScheduleError as exc:
        raise SchedulerError(
            f"{str(exc).rstrip('.')}; so {backend.name} cannot install it: choose another --backend"
            " (systemd takes every schedule), or store it with --no-install and let 'bassi scheduler run' start it"
        ) from None
