"""Installed OS entries that no longer match their task files ("out of date").

A task installed into an OS scheduler keeps the schedule, zone, workdir and command it had at
install time. When its file changes outside bassi (a repository task after `git pull`, a hand
edit), the OS entry silently keeps firing on the old schedule. To notice, every install
records the *inputs* of the entry it wrote (registry.Installation.entry, Entry.inputs: schedule, zone,
workdir, command, enabled), and `schedule list` / `schedule debug` compare them with the
inputs of the entry the current task file would give (entries.entry_for, the same code
`install` uses).

Inputs, not the rendered text: systemd's DST-bridge lines depend on the install date, so the
text of a fresh render differs from the installed one as time passes although nothing that
matters changed. Schedules are compared by meaning ("daily 09:00" == "every day at 09:00").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bassi_ci.errors import BassiError
from bassi_ci.schedules import describe, parse_schedule
from bassi_ci.scheduling.entries import entry_for
from bassi_ci.scheduling.installed import installation_for
from bassi_ci.scheduling.registry import Installation, read_installations
from bassi_ci.tasks.model import Task


@dataclass(frozen=True)
class Difference:
    """One input of the entry that differs: as installed, and as the task file has it now."""

    field: str  # "schedule" | "timezone" | "workdir" | "command" | "enabled"
    installed: Any
    now: Any

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "installed": self.installed, "now": self.now}


def differences(task: Task, installation: Installation) -> list[Difference] | None:
    """How the installed entry differs from what `task` would install now; [] when it does not;
    None when that cannot be told (installed by a bassi that recorded no inputs, or the task's
    workdir is gone, which `schedule debug` reports on its own)."""
    recorded = installation.entry
    if recorded is None:
        return None
    if task.schedule is None:  # the schedule was taken out of the file: the entry still fires
        return [Difference("schedule", recorded.get("schedule"), None)]
    try:
        # The recorded workdir stands in for the cwd of the install: a task without a workdir of
        # its own runs where it was installed from, wherever `schedule list` is run.
        current = entry_for(task, Path(str(recorded.get("workdir", ".")))).inputs()
    except BassiError:
        return None
    return [
        Difference(name, recorded.get(name), value)
        for name, value in current.items()
        if not _same(name, recorded.get(name), value)
    ]


def out_of_date(tasks: Iterable[Task]) -> dict[str, bool | None]:
    """Per installed task id: whether its entry is out of date (None: cannot tell). Tasks that
    are not installed (from this very file) are left out."""
    installations = read_installations()
    if not installations:
        return {}
    flags: dict[str, bool | None] = {}
    for task in tasks:
        installation = installation_for(task, installations)
        if installation is not None:
            found = differences(task, installation)
            flags[task.id] = None if found is None else bool(found)
    return flags


def describe_entry(inputs: Mapping[str, Any]) -> str:
    """'every monday at 09:00 Europe/Berlin' (and ', paused'): an entry's inputs for people."""
    schedule = inputs.get("schedule")
    if schedule is None:
        return "no schedule (on demand)"
    try:
        when = describe(parse_schedule(str(schedule)))
    except BassiError:
        when = str(schedule)
    paused = "" if inputs.get("enabled", True) else ", paused"
    return f"{when} {inputs.get('timezone')}{paused}"


def difference_line(installation: Installation, found: list[Difference]) -> str:
    """One line for `schedule debug`: what is installed, and what the task file says now."""
    assert installation.entry is not None
    now = {**installation.entry, **{d.field: d.now for d in found}}
    line = f"installed: {describe_entry(installation.entry)}; task file now: {describe_entry(now)}"
    other = [d.field for d in found if d.field not in ("schedule", "timezone", "enabled")]
    return f"{line} (also changed: {', '.join(other)})" if other else line


def _same(name: str, installed: Any, now: Any) -> bool:
    if name != "schedule" or installed == now:
        return bool(installed == now)
    try:
        return bool(parse_schedule(str(installed)) == parse_schedule(str(now)))
    except BassiError:
        return False
