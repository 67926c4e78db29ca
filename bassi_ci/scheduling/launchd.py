"""The launchd backend (macOS): one LaunchAgent plist per task, loaded with launchctl.

The plist (`~/Library/LaunchAgents/dev.bassi-ci.<id>.plist`, written with plistlib) runs the
entry's command in its workdir, sends the job's own output to `launchd.out.log` and
`launchd.err.log` in the task's log folder, and never runs at load. plists have no comments,
so the marker is an environment variable the job also sees: `BASSI_CI_TASK=<id>`. A plist
at our path without it (or with another label) is someone else's and is never touched.

Time zones. launchd matches StartCalendarInterval against the machine's wall clock and has no
zones. When the task's zone keeps the machine zone's offset over the next years (and no DST
gap needs bridging), the plist holds the schedule's own entries (`to_launchd`). Otherwise it
wakes at every machine wall time at which the task can fire (`zoneshift.machine_times`: the
union over the offsets that occur between the two zones, plus the ends of the task zone's
spring-forward gaps), and the job first asks the due-guard (`bassi_ci.scheduling.due`)
whether the task is due now in its own zone; a wake-up that is not due exits 0 at once, so
launchd does not log it as a failure. This stays right across every DST change of both zones
and every year without a re-install; a machine moved to another zone needs one. One cost: a
run that launchd starts late, at wake-up after the Mac slept through it, is more than the
guard's tolerance late and is skipped (a plain plist would run it then); `schedule debug`
shows it as missed. Intervals
that do not divide an hour or a day use StartInterval, which launchd counts from load time.

Changes. install = write the plist, `launchctl enable` + `bootstrap gui/<uid> PATH`
(`bootout gui/<uid>/<label>` first when replacing); pause = `bootout` + `disable`, which
launchd remembers across logins; resume = `enable` + `bootstrap`; uninstall = `bootout` and
remove the plist. A launchctl without `bootstrap` (before macOS 10.10) gets the same change
as `load`/`unload` (see `launchctl.py`). `apply` is all or nothing.
"""

from __future__ import annotations

import os
import plistlib
import shlex
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from bassi_ci import clock
from bassi_ci.schedules import parse_schedule, to_launchd
from bassi_ci.schedules.model import Cron, Schedule, calendar_expression
from bassi_ci.scheduling.base import Entry, FileChange, Plan, SchedulerError, Status, bassi_argv
from bassi_ci.scheduling.due import guard_argv
from bassi_ci.scheduling.launchctl import Launchctl
from bassi_ci.scheduling.zoneshift import machine_times
from bassi_ci.tasks.model import SLUG_MAX, SLUG_RE

LABEL_PREFIX = "dev.bassi-ci."
MARKER_VARIABLE = "BASSI_CI_TASK"  # in EnvironmentVariables: the plist's "written by bassi" mark


class LaunchdBackend:
    """LaunchAgents for one user. Every outside dependency is injectable for tests."""

    name = "launchd"

    def __init__(
        self,
        agents_dir: Path | None = None,
        launchctl: str = "launchctl",
        uid: int | None = None,
        machine_zone: str | None = None,
        python: str | None = None,
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.agents_dir = agents_dir or Path.home() / "Library" / "LaunchAgents"
        self.launchctl = Launchctl(launchctl, self.agents_dir)
        self.domain = f"gui/{os.getuid() if uid is None else uid}"
        self.machine_zone = machine_zone or clock.local_zone_name()
        self.python = python or bassi_argv()[0]  # the interpreter that runs the due-guard
        self.now = now

    # -- names and files -------------------------------------------------------------------

    def label(self, task_id: str) -> str:
        """`dev.bassi-ci.<id>`; anything but a task slug is refused (it becomes a file name and a label)."""
        if not (isinstance(task_id, str) and SLUG_RE.fullmatch(task_id) and len(task_id) <= SLUG_MAX):
            raise SchedulerError(
                f"task id {task_id!r} cannot name a launchd job: use lower-case letters, digits and"
                f" single hyphens, at most {SLUG_MAX} characters"
            )
        return LABEL_PREFIX + task_id

    def plist_path(self, task_id: str) -> Path:
        return self.agents_dir / f"{self.label(task_id)}.plist"

    def render_plist(self, entry: Entry) -> str:
        """The plist XML for `entry`, exactly as `apply` writes it."""
        return _dump(entry.task_id, self._document(entry))

    def _document(self, entry: Entry) -> dict[str, Any]:
        timing, program = self._timing(entry, parse_schedule(entry.schedule))
        return {
            "Label": self.label(entry.task_id),
            "ProgramArguments": list(program),
            "WorkingDirectory": str(entry.workdir),
            **timing,
            "StandardOutPath": str(entry.log_dir / "launchd.out.log"),
            "StandardErrorPath": str(entry.log_dir / "launchd.err.log"),
            "RunAtLoad": False,
            "EnvironmentVariables": {MARKER_VARIABLE: entry.task_id},
        }

    def _timing(self, entry: Entry, schedule: Schedule) -> tuple[dict[str, object], tuple[str, ...]]:
        """The plist's start keys and the program they start (guarded when the zones differ)."""
        if calendar_expression(schedule) is None:  # StartInterval, or a `once` that launchd refuses
            return to_launchd(schedule), entry.command
        times = machine_times(schedule, entry.timezone, self.machine_zone, self.now())
        if times.exact:
            return _single_or_list(to_launchd(schedule)), entry.command
        entries: list[dict[str, int]] = []
        for expression in times.expressions:
            keys = to_launchd(Cron(text=expression, expression=expression))
            entries += [item for item in _calendar_list(keys) if item not in entries]
        return _single_or_list({"StartCalendarInterval": entries}), self._guarded(entry)

    def _guarded(self, entry: Entry) -> tuple[str, ...]:
        guard = shlex.join(guard_argv(self.python, entry.schedule, entry.timezone))
        # Exit 1 is "not due": end quietly with 0, so launchd does not log a failure for every
        # wake-up that is not a run. Any other failure of the guard is kept.
        script = (
            f'{guard}; due=$?; if [ "$due" -eq 0 ]; then exec {shlex.join(entry.command)};'
            f' elif [ "$due" -ne 1 ]; then exit "$due"; fi'
        )
        return ("/bin/sh", "-c", script)

    def _notes(self, entry: Entry, document: dict[str, Any]) -> tuple[str, ...]:
        if document["ProgramArguments"] != list(entry.command):
            return (
                f"launchd has no time zones: the job wakes at every {self.machine_zone} time that can be a"
                f" run in {entry.timezone} and runs only when due; re-install after changing the machine's zone",
            )
        if "StartInterval" in document:
            return (f"launchd counts '{entry.schedule}' from when the job is loaded, not from the clock",)
        return ()

    def _own_plist(self, task_id: str) -> dict[str, Any] | None:
        """The installed plist if bassi wrote it, None when there is none; someone else's is an error."""
        path = self.plist_path(task_id)
        try:
            document: object = plistlib.loads(path.read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, plistlib.InvalidFileException, ValueError) as exc:
            raise SchedulerError(f"{path} cannot be read ({exc}); bassi leaves it alone: move it away") from None
        if not isinstance(document, dict) or not _is_ours(document, self.label(task_id), task_id):
            raise SchedulerError(
                f"{path} was not written by bassi (no {MARKER_VARIABLE}={task_id} in EnvironmentVariables);"
                " bassi never changes it: move it away, or give the task another id"
            )
        return document

    # -- plans -----------------------------------------------------------------------------

    def _target(self, task_id: str) -> str:
        return f"{self.domain}/{self.label(task_id)}"

    def plan_install(self, entry: Entry) -> Plan:
        path, target = self.plist_path(entry.task_id), self._target(entry.task_id)
        installed = self._own_plist(entry.task_id) is not None
        document = self._document(entry)
        program = self.launchctl.program
        commands: list[tuple[str, ...]] = [(program, "bootout", target)] if installed else []
        if entry.enabled:
            commands += [(program, "enable", target), (program, "bootstrap", self.domain, str(path))]
        else:
            commands.append((program, "disable", target))
        files = (FileChange(path, _dump(entry.task_id, document)),)
        return Plan(self.name, files=files, commands=tuple(commands), notes=self._notes(entry, document))

    def plan_uninstall(self, task_id: str) -> Plan:
        if self._own_plist(task_id) is None:
            return Plan(self.name)
        files = (FileChange(self.plist_path(task_id), None),)
        return Plan(self.name, files=files, commands=((self.launchctl.program, "bootout", self._target(task_id)),))

    def plan_enable(self, entry: Entry, enabled: bool) -> Plan:
        if self._own_plist(entry.task_id) is None:
            raise SchedulerError(
                f"task '{entry.task_id}' has no launchd job in {self.agents_dir};"
                f" install it first: bassi schedule install {entry.task_id}"
            )
        program, target = self.launchctl.program, self._target(entry.task_id)
        if enabled:
            path = str(self.plist_path(entry.task_id))
            commands: tuple[tuple[str, ...], ...] = (
                (program, "enable", target),
                (program, "bootstrap", self.domain, path),
            )
        else:
            commands = ((program, "bootout", target), (program, "disable", target))
        return Plan(self.name, commands=commands)

    def apply(self, plan: Plan) -> None:
        # launchd does not create the log folder; a job whose StandardOutPath cannot be opened never starts.
        folders = [Path(_log_folder(change.content)) for change in plan.files if change.content is not None]
        self.launchctl.apply(plan, folders)

    # -- status ----------------------------------------------------------------------------

    def has_entry(self, task_id: str) -> bool:
        return self._own_plist(task_id) is not None

    def status(self, task_id: str) -> Status:
        path = self.plist_path(task_id)
        try:
            document = self._own_plist(task_id)
        except SchedulerError as exc:
            return Status(self.name, installed=False, enabled=None, paths=(path,), details={"problem": str(exc)})
        if document is None:
            return Status(self.name, installed=False, enabled=None, paths=(path,))
        loaded, state = self.launchctl.loaded(self._target(task_id))
        disabled = self.launchctl.disabled(self.domain, self.label(task_id))
        details = {"label": self.label(task_id), "loaded": {True: "yes", False: "no", None: "unknown"}[loaded]}
        if state:
            details["state"] = state
        return Status(
            self.name,
            installed=True,
            enabled=None if disabled is None else not disabled,
            paths=(path,),
            command=tuple(document.get("ProgramArguments", ())),
            details=details,
        )


def _dump(task_id: str, document: dict[str, Any]) -> str:
    try:
        return plistlib.dumps(document, sort_keys=False).decode("utf-8")
    except (TypeError, ValueError) as exc:  # e.g. a control character in a path
        raise SchedulerError(f"cannot write the launchd plist for '{task_id}': {exc}") from None


def _is_ours(document: dict[str, Any], label: str, task_id: str) -> bool:
    if document.get("Label") != label:
        return False
    environment = document.get("EnvironmentVariables")
    return isinstance(environment, dict) and environment.get(MARKER_VARIABLE) == task_id


def _calendar_list(keys: dict[str, object]) -> list[dict[str, int]]:
    value = keys["StartCalendarInterval"]
    assert isinstance(value, list)
    return value


def _single_or_list(keys: dict[str, object]) -> dict[str, object]:
    """One calendar entry as a dict, several as a list (launchd takes both; a dict reads better)."""
    value = keys.get("StartCalendarInterval")
    if isinstance(value, list) and len(value) == 1:
        return {"StartCalendarInterval": value[0]}
    return keys


def _log_folder(content: str) -> str:
    return str(Path(plistlib.loads(content.encode("utf-8"))["StandardOutPath"]).parent)
