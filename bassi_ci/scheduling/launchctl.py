"""Running a launchd plan: file writes and launchctl commands, all or nothing.

The commands of a plan are the modern ones (`bootstrap`, `bootout`, `enable`, `disable`,
macOS 10.10 and later). A launchctl that does not know them says so on the first one, before
anything was changed by a command; the plan's files are put back and the same change is
made again with `load`/`unload` (see `legacy_commands`).

Order: the commands that stop the old job (`bootout`/`unload`) run before the plist is
replaced, so launchd never holds a job whose file changed under it; the rest run after.
On a failure the files get their old bytes back, the commands that succeeded are reversed
(best effort), and a one-line SchedulerError says which command failed and why.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bassi_ci.fsutil import atomic_write_text
from bassi_ci.scheduling.base import FileChange, Plan, SchedulerError

TIMEOUT_S = 30
# `bootout` of a job that is not loaded is not a failure: there was nothing to stop.
_NOT_LOADED = re.compile(r"no such process|could not find|not loaded", re.IGNORECASE)
_UNKNOWN_SUBCOMMAND = re.compile(r"(unknown|unrecognized|invalid) (sub)?command", re.IGNORECASE)
_MODERN = {"bootstrap", "bootout", "enable", "disable", "print", "print-disabled"}

Argv = tuple[str, ...]


class _OldLaunchctl(Exception):
    """launchctl does not know bootstrap/bootout: use load/unload."""


@dataclass
class Launchctl:
    """One launchctl program (injectable: tests put a recording stand-in on PATH)."""

    program: str
    agents_dir: Path

    def run(self, argv: Argv) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(list(argv), capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except FileNotFoundError:
            raise SchedulerError(
                f"{argv[0]} not found: launchd exists only on macOS; elsewhere use --backend systemd or --backend cron"
            ) from None
        except subprocess.TimeoutExpired:
            raise SchedulerError(f"{shlex.join(argv)} did not finish within {TIMEOUT_S} s") from None
        except OSError as exc:
            raise SchedulerError(f"cannot run {argv[0]}: {exc.strerror}") from None

    def apply(self, plan: Plan, folders: Iterable[Path] = ()) -> None:
        """Make the plan real (creating `folders` first, e.g. the log folder), or change nothing."""
        try:
            _Transaction(self, plan.files, plan.commands, tuple(folders)).run()
        except _OldLaunchctl:
            legacy = legacy_commands(plan.commands, self.agents_dir)
            _Transaction(self, plan.files, legacy, tuple(folders)).run()

    def loaded(self, target: str) -> tuple[bool | None, str]:
        """Whether the job is loaded (None: cannot tell), and its state as `launchctl print` says it."""
        try:
            proc = self.run((self.program, "print", target))
            if proc.returncode != 0 and _UNKNOWN_SUBCOMMAND.search(proc.stdout + proc.stderr):
                proc = self.run((self.program, "list", target.rsplit("/", 1)[-1]))
        except SchedulerError:
            return None, ""
        state = re.search(r"^\s*state = (\S+)", proc.stdout, re.MULTILINE)
        return proc.returncode == 0, state.group(1) if state else ""

    def disabled(self, domain: str, label: str) -> bool | None:
        """Whether launchd holds the job disabled (`print-disabled`); None when it cannot say."""
        try:
            proc = self.run((self.program, "print-disabled", domain))
        except SchedulerError:
            return None
        if proc.returncode != 0:
            return None
        found = re.search(rf'"{re.escape(label)}" => (\w+)', proc.stdout)
        return found is not None and found.group(1) in ("disabled", "true")


def legacy_commands(commands: Iterable[Argv], agents_dir: Path) -> tuple[Argv, ...]:
    """The same change for a launchctl that only knows load/unload (-w keeps the disabled mark)."""
    legacy: list[Argv] = []
    pending = list(commands)
    while pending:
        argv = pending.pop(0)
        program, verb, where = argv[0], argv[1], argv[-1]
        path = where if verb == "bootstrap" else str(agents_dir / f"{where.rsplit('/', 1)[-1]}.plist")
        if verb == "bootout":
            legacy.append((program, "unload", path))
        elif verb == "enable" and pending and pending[0][1] == "bootstrap":
            pending.pop(0)
            legacy.append((program, "load", "-w", path))
        elif verb in ("enable", "bootstrap"):
            legacy.append((program, "load", *(["-w"] if verb == "enable" else []), path))
        elif verb == "disable":
            if legacy and legacy[-1][1:] == ("unload", path):
                legacy.pop()  # bootout + disable: one unload that also marks the job disabled
            legacy.append((program, "unload", "-w", path))
        else:
            legacy.append(argv)
    return tuple(legacy)


def _stops_old_job(argv: Argv) -> bool:
    return argv[1] == "bootout" or (argv[1] == "unload" and len(argv) == 3)


@dataclass
class _Transaction:
    launchctl: Launchctl
    files: tuple[FileChange, ...]
    commands: tuple[Argv, ...]
    folders: tuple[Path, ...]
    previous: list[tuple[Path, bytes | None]] = field(default_factory=list)
    created: list[Path] = field(default_factory=list)
    done: list[Argv] = field(default_factory=list)

    def run(self) -> None:
        try:
            for argv in filter(_stops_old_job, self.commands):
                self._command(argv)
            for folder in self.folders:
                self._make_folder(folder)
            for change in self.files:
                self._write(change)
            for argv in (argv for argv in self.commands if not _stops_old_job(argv)):
                self._command(argv)
        except OSError as exc:
            self._undo()
            where = exc.filename or "the launchd plist"
            raise SchedulerError(f"cannot write {where}: {exc.strerror}; nothing was changed") from None
        except BaseException:
            self._undo()
            raise

    def _command(self, argv: Argv) -> None:
        proc = self.launchctl.run(argv)
        if proc.returncode == 0:
            self.done.append(argv)
            return
        output = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[0]
        if argv[1] in _MODERN and _UNKNOWN_SUBCOMMAND.search(output):
            raise _OldLaunchctl
        if argv[1] in ("bootout", "unload") and _NOT_LOADED.search(output):
            return  # it was not loaded: nothing to stop
        raise SchedulerError(
            f"{shlex.join(argv)} failed (exit {proc.returncode}): {output}; the launchd job was left as it was"
        )

    def _make_folder(self, folder: Path) -> None:
        missing = [folder, *folder.parents]
        missing = [path for path in missing if not path.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        self.created += sorted(missing, key=lambda path: len(path.parts))

    def _write(self, change: FileChange) -> None:
        self._make_folder(change.path.parent)
        try:
            old: bytes | None = change.path.read_bytes()
        except FileNotFoundError:
            old = None
        self.previous.append((change.path, old))
        if change.content is None:
            change.path.unlink(missing_ok=True)
        else:
            atomic_write_text(change.path, change.content)

    def _undo(self) -> None:
        for path, old in reversed(self.previous):
            try:
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(old)
            except OSError:
                pass  # the original error is the one to report
        for argv in reversed(self.done):
            inverse = _inverse(argv, self.launchctl.agents_dir)
            with contextlib.suppress(SchedulerError):  # best effort: the original error is reported
                self.launchctl.run(inverse)
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):  # not empty (someone else's now) or gone
                folder.rmdir()


def _inverse(argv: Argv, agents_dir: Path) -> Argv:
    """The command that undoes `argv` (used only to roll back a failed change)."""
    program, verb = argv[0], argv[1]
    if verb == "bootout":
        domain, label = argv[2].rsplit("/", 1)
        return (program, "bootstrap", domain, str(agents_dir / f"{label}.plist"))
    if verb == "bootstrap":
        return (program, "bootout", f"{argv[2]}/{Path(argv[3]).stem}")
    swaps = {"enable": "disable", "disable": "enable", "load": "unload", "unload": "load"}
    return (program, swaps[verb], *argv[2:])
