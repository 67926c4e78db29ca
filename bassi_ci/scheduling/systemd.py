"""The systemd backend: a user timer + service pair per task, driven by `systemctl --user`.

Units live in the user unit folder (`$XDG_CONFIG_HOME/systemd/user`, by default
`~/.config/systemd/user`) as `bassi-<id>.timer` and `bassi-<id>.service`; their text comes from
`systemd_units`. Install: write both, `daemon-reload`, `enable --now` the timer (a paused task:
`disable --now`, so its files are there but it never fires). Pause: `disable --now`. Resume:
a re-install (fresh DST bridge) that enables. Uninstall: `disable --now`, remove both, reload.

`apply` is all or nothing: it keeps the old contents of every file it touches in memory and,
when a write or a `systemctl` call fails, puts the files and the timer's enablement back and
raises a one-line SchedulerError naming the command or path and the first line of its error.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from bassi_ci import clock
from bassi_ci.fsutil import atomic_write_text
from bassi_ci.scheduling.base import MARKER, Entry, FileChange, Plan, SchedulerError, Status
from bassi_ci.scheduling.systemd_units import is_ours, render_service, render_timer, split_exec_line, unit_stem

# A user manager that does not answer within this long is as good as absent.
SYSTEMCTL_TIMEOUT_S = 30
_SWITCHES = ("enable", "disable")


def default_unit_dir() -> Path:
    """`$XDG_CONFIG_HOME/systemd/user`, or `~/.config/systemd/user` (a relative XDG value is ignored, per the spec)."""
    config = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config) if os.path.isabs(config) else Path.home() / ".config"
    return base / "systemd" / "user"


@dataclass
class _Undo:
    """What apply needs to put back: old file contents, folders it made, enablement before."""

    old: dict[Path, str | None] = field(default_factory=dict)
    touched: list[Path] = field(default_factory=list)  # files a write or removal was tried on
    made_dirs: list[Path] = field(default_factory=list)
    enabled_before: dict[str, bool] = field(default_factory=dict)
    switched: set[str] = field(default_factory=set)  # timers an enable/disable may have changed
    ran_systemctl: bool = False


class SystemdBackend:
    """systemd user timers. `systemctl`/`loginctl` are program names or paths (tests pass stand-ins)."""

    name = "systemd"

    def __init__(
        self,
        unit_dir: Path | None = None,
        systemctl: str = "systemctl",
        loginctl: str = "loginctl",
        now: Callable[[], datetime] = clock.now,
    ) -> None:
        self.unit_dir = unit_dir if unit_dir is not None else default_unit_dir()
        self.systemctl = systemctl
        self.loginctl = loginctl
        self.now = now

    def unit_paths(self, task_id: str) -> tuple[Path, Path]:
        """The task's (timer, service) unit files."""
        stem = unit_stem(task_id)
        return self.unit_dir / f"{stem}.timer", self.unit_dir / f"{stem}.service"

    # -- planning: reads only -------------------------------------------------------------

    def plan_install(self, entry: Entry) -> Plan:
        timer, service = self.unit_paths(entry.task_id)
        _refuse_foreign(timer, service)
        switch = "enable" if entry.enabled else "disable"
        return Plan(
            backend=self.name,
            files=(FileChange(timer, render_timer(entry, self.now())), FileChange(service, render_service(entry))),
            commands=(self._ctl("daemon-reload"), self._ctl(switch, "--now", timer.name)),
        )

    def plan_uninstall(self, task_id: str) -> Plan:
        timer, service = self.unit_paths(task_id)
        _refuse_foreign(timer, service)
        present = tuple(FileChange(path, None) for path in (timer, service) if path.exists())
        if not present:
            return Plan(backend=self.name, notes=(f"{task_id}: no systemd units installed",))
        return Plan(
            backend=self.name,
            commands_before=(self._ctl("disable", "--now", timer.name),),
            files=present,
            commands=(self._ctl("daemon-reload"),),
        )

    def plan_enable(self, entry: Entry, enabled: bool) -> Plan:
        if enabled:  # a re-install: it also renews the DST bridge after a long pause
            return self.plan_install(replace(entry, enabled=True))
        timer, service = self.unit_paths(entry.task_id)
        _refuse_foreign(timer, service)
        if not timer.exists():
            return Plan(backend=self.name, notes=(f"{entry.task_id}: no systemd timer installed, nothing to pause",))
        return Plan(backend=self.name, commands=(self._ctl("disable", "--now", timer.name),))

    # -- applying: all or nothing ---------------------------------------------------------

    def apply(self, plan: Plan) -> None:
        paths = [change.path for change in plan.files]
        _refuse_foreign(*paths)  # again: a foreign unit may have appeared since the plan
        undo = _Undo(old={path: _read(path) for path in paths})
        for unit in {_switched_unit(argv) for argv in (*plan.commands_before, *plan.commands)} - {None}:
            assert unit is not None
            if (self.unit_dir / unit).exists():  # a timer that is there now: remember its state
                undo.enabled_before[unit] = self._is_enabled(unit) is True
        try:
            self._run_all(plan.commands_before, undo)
            for change in plan.files:
                self._write(change, undo)
            self._run_all(plan.commands, undo)
        except SchedulerError:
            self._roll_back(undo)
            raise

    def _run_all(self, commands: tuple[tuple[str, ...], ...], undo: _Undo) -> None:
        for argv in commands:
            unit = _switched_unit(argv)
            if unit is not None:
                undo.switched.add(unit)
            undo.ran_systemctl = True
            self._run(argv)

    def _write(self, change: FileChange, undo: _Undo) -> None:
        undo.touched.append(change.path)
        try:
            if change.content is None:
                change.path.unlink(missing_ok=True)
            else:
                _make_dirs(change.path.parent, undo.made_dirs)
                atomic_write_text(change.path, change.content)
        except OSError as exc:
            verb = "remove" if change.content is None else "write"
            raise SchedulerError(
                f"cannot {verb} {change.path}: {exc.strerror or exc}; check that the systemd user unit"
                " folder is writable"
            ) from None

    def _roll_back(self, undo: _Undo) -> None:
        """Put back files and enablement; every step is best effort, the first error is what counts."""
        for unit in undo.switched - set(undo.enabled_before):
            self._try(self._ctl("disable", "--now", unit))  # a new timer: off while its file still exists
        for path in undo.touched:
            content = undo.old[path]
            try:
                if content is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write_text(path, content)
            except OSError:
                pass  # the folder refused the change itself, so the old file is still there
        for folder in reversed(undo.made_dirs):
            with contextlib.suppress(OSError):  # not empty: someone else's file is in it
                folder.rmdir()
        if undo.ran_systemctl:
            self._try(self._ctl("daemon-reload"))
        for unit in undo.switched & set(undo.enabled_before):
            self._try(self._ctl("enable" if undo.enabled_before[unit] else "disable", "--now", unit))

    # -- status ---------------------------------------------------------------------------

    def has_entry(self, task_id: str) -> bool:
        return any(path.exists() or path.is_symlink() for path in self.unit_paths(task_id))

    def status(self, task_id: str) -> Status:
        timer, service = self.unit_paths(task_id)
        texts = {path: _read(path) for path in (timer, service)}
        installed = all(text is not None and is_ours(text, task_id) for text in texts.values())
        details = {"unit_dir": str(self.unit_dir), "logs": f"journalctl --user -u {service.name}"}
        enabled = self._is_enabled(timer.name, details) if installed else False
        # `show` rather than `list-timers --output=json`, which systemd 252 and older lack.
        next_elapse = self._query(self._ctl("show", "-p", "NextElapseUSecRealtime", "--value", timer.name))
        details.update(self._linger())
        return Status(
            backend=self.name,
            installed=installed,
            enabled=enabled,
            paths=(timer, service),
            command=_exec_start(texts[service]),
            os_next_runs=(next_elapse,) if installed and next_elapse not in (None, "", "n/a") else (),
            details=details,
        )

    def _is_enabled(self, unit: str, details: dict[str, str] | None = None) -> bool | None:
        """True/False from `systemctl --user is-enabled`, None when systemctl cannot say."""
        done = self._call(self._ctl("is-enabled", unit))
        word = (done.stdout.split() or [""])[0] if done is not None else ""
        if word in ("enabled", "enabled-runtime"):
            return True
        if word in ("disabled", "static", "masked", "masked-runtime", "linked", "linked-runtime", "indirect"):
            return False
        if details is not None:
            details["systemctl"] = _first_line(done.stderr if done is not None else "") or "systemctl did not answer"
        return None

    def _linger(self) -> dict[str, str]:
        """Whether the user's timers run while they are logged out, and how to turn that on."""
        user = os.environ.get("USER") or getpass.getuser()
        linger = self._query((self.loginctl, "show-user", user, "-p", "Linger", "--value")) or "unknown"
        if linger == "yes":
            return {"linger": "yes"}
        hint = f"loginctl enable-linger {user}: without lingering, user timers run only while {user} is logged in"
        return {"linger": linger, "hint": hint}

    # -- running programs -----------------------------------------------------------------

    def _ctl(self, *args: str) -> tuple[str, ...]:
        return (self.systemctl, "--user", *args)

    def _call(self, argv: tuple[str, ...]) -> subprocess.CompletedProcess[str] | None:
        """Run a query; None when the program is missing or hangs."""
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None

    def _query(self, argv: tuple[str, ...]) -> str | None:
        done = self._call(argv)
        return done.stdout.strip() if done is not None and done.returncode == 0 else None

    def _run(self, argv: tuple[str, ...]) -> None:
        """Run a change; any failure is a one-line SchedulerError naming the command."""
        shown = shlex.join(argv)
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_S, check=False)
        except FileNotFoundError:
            raise SchedulerError(f"{argv[0]} not found: systemd user timers need systemd; use --backend cron") from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SchedulerError(f"{shown} could not run: {exc}") from None
        if done.returncode != 0:
            reason = _first_line(done.stderr) or _first_line(done.stdout) or "no message"
            raise SchedulerError(f"{shown} failed (exit {done.returncode}): {reason}")

    def _try(self, argv: tuple[str, ...]) -> None:
        self._call(argv)


def _refuse_foreign(*paths: Path) -> None:
    """Refuse to change a unit bassi did not write (no marker for this task, or a link)."""
    for path in paths:
        if not (path.exists() or path.is_symlink()):
            continue
        task_id = path.stem.removeprefix("bassi-")
        text = None if path.is_symlink() or not path.is_file() else _read(path)
        if text is None or not is_ours(text, task_id):
            raise SchedulerError(
                f"{path} exists and was not written by bassi (no '{MARKER} task={task_id}' marker);"
                " bassi leaves it alone: remove or rename it, or give the task another id"
            )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchedulerError(f"cannot read {path}: {exc}") from None


def _make_dirs(folder: Path, made: list[Path]) -> None:
    """Create `folder` and its missing parents, outermost first, noting each in `made` at once
    (so a roll-back after a failing mkdir still removes the ones before it)."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists() or candidate.is_symlink():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        candidate.mkdir()
        made.append(candidate)


def _switched_unit(argv: tuple[str, ...]) -> str | None:
    """The unit an `enable`/`disable` command changes, else None."""
    return argv[-1] if any(word in _SWITCHES for word in argv) else None


def _exec_start(service_text: str | None) -> tuple[str, ...]:
    for line in (service_text or "").splitlines():
        if line.startswith("ExecStart="):
            return split_exec_line(line.removeprefix("ExecStart=")) or ()
    return ()


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
