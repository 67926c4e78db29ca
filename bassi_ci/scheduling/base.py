"""What every OS-scheduler backend (systemd, launchd, cron) shares: the entry bassi wants
installed for a task, the plan of a change, and the small interface a backend implements.

A change is planned before it is made. `--dry-run` prints the plan (the DESIGN's JSON shape:
backend, files, crontab, commands) and stops; a real change applies the same plan, so what a
user previews is exactly what happens. Applying is all or nothing: a backend that fails half-way
puts back what it changed and raises a one-line SchedulerError.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bassi_ci.errors import UsageError

# Every file, unit, plist and crontab line bassi writes carries this marker and the task id,
# so bassi never changes or removes an entry it did not write.
MARKER = "bassi-ci"


class SchedulerError(UsageError):
    """The OS scheduler cannot be used or changed (missing tool, read-only folder, failing command).

    Exit 2 like other set-up problems: nothing ran, and the message says what to fix.
    """


@dataclass(frozen=True)
class Entry:
    """One task as the OS scheduler should run it.

    `schedule` is the canonical DSL text (parse it with bassi_ci.schedules.parse_schedule);
    times are wall-clock times in `timezone`. `command` is the absolute argv the OS runs
    (see `scheduled_command`); `log_dir` is where the OS may send the job's own output.
    """

    task_id: str
    schedule: str
    timezone: str
    command: tuple[str, ...]
    workdir: Path
    log_dir: Path
    enabled: bool = True

    def inputs(self) -> dict[str, Any]:
        """What the installation registry records of an installed entry, to tell later whether
        the task file still gives the same one (drift.py). The log folder follows from the id."""
        return {
            "schedule": self.schedule,
            "timezone": self.timezone,
            "workdir": str(self.workdir),
            "command": list(self.command),
            "enabled": self.enabled,
        }


@dataclass(frozen=True)
class FileChange:
    """A file the plan writes (`content` set) or removes (`content` None)."""

    path: Path
    content: str | None


@dataclass(frozen=True)
class Plan:
    """Everything a change would do, in order: run `commands_before`, write/remove files, replace
    the crontab, run `commands`."""

    backend: str
    files: tuple[FileChange, ...] = ()
    crontab: str | None = None  # the whole new crontab text, or None when the crontab is not touched
    # The crontab text the plan was made from: applying writes only over this very text, so an
    # edit made in between (by the user or another bassi) is never overwritten.
    crontab_before: str | None = None
    commands: tuple[tuple[str, ...], ...] = ()
    notes: tuple[str, ...] = ()  # what a person should know (e.g. "cron has no CRON_TZ: times translated")
    # Commands that must run while the old files still exist (systemd disables a timer before
    # its unit file goes: `systemctl disable` of a missing unit file fails).
    commands_before: tuple[tuple[str, ...], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The `--dry-run --json` document (docs/design.md, "Local scheduling").

        `commands` lists every command in the order it runs; those of `commands_before` run
        before the files change.
        """
        return {
            "backend": self.backend,
            "files": [{"path": str(f.path), "content": f.content} for f in self.files],
            "crontab": self.crontab,
            "commands": [list(argv) for argv in (*self.commands_before, *self.commands)],
        }


@dataclass(frozen=True)
class Status:
    """What the OS scheduler knows about one task's entry, for `schedule debug`."""

    backend: str
    installed: bool
    enabled: bool | None  # None: the backend cannot tell
    paths: tuple[Path, ...] = ()
    command: tuple[str, ...] = ()
    os_next_runs: tuple[str, ...] = ()  # as the OS prints them, where it can say
    details: dict[str, str] = field(default_factory=dict)


class Backend(Protocol):
    """An OS scheduler. `plan_*` never change anything; `apply` makes a plan real, all or nothing."""

    name: str

    def plan_install(self, entry: Entry) -> Plan:
        """Install or replace the task's entry (a paused entry is installed disabled)."""
        ...

    def plan_uninstall(self, task_id: str) -> Plan:
        """Remove the task's entry; an empty plan when there is none."""
        ...

    def plan_enable(self, entry: Entry, enabled: bool) -> Plan:
        """Pause (False) or resume (True) the installed entry."""
        ...

    def apply(self, plan: Plan) -> None:
        """Make the plan real, or leave the system as it was and raise SchedulerError."""
        ...

    def status(self, task_id: str) -> Status: ...

    def has_entry(self, task_id: str) -> bool:
        """Whether an entry with bassi's marker for this id is there (a quick look, no status)."""
        ...


def bassi_argv() -> tuple[str, ...]:
    """This installation's bassi, absolute: the interpreter running now with `-m bassi_ci`.

    Never a bare `bassi` looked up on PATH: cron and launchd start jobs with a minimal PATH,
    the classic way scheduled jobs break.
    """
    return (str(Path(sys.executable).absolute()), "-m", "bassi_ci")


def scheduled_command(task_id: str, workdir: Path, env_file: Path) -> tuple[str, ...]:
    """The absolute command the OS runs: load `env_file`, go to the workdir, run the task.

    One `/bin/sh -c` script so every backend runs exactly the same thing; `set -a` exports
    what the env file sets. Everything is shell-quoted: ids are slugs, but paths may hold
    spaces or quotes.
    """
    run = shlex.join([*bassi_argv(), "execute", "--ci", task_id])
    env = shlex.quote(str(env_file))
    script = f"set -a; [ -r {env} ] && . {env}; set +a; cd {shlex.quote(str(workdir))} && exec {run}"
    return ("/bin/sh", "-c", script)
