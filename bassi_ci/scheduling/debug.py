"""`bassi schedule debug NAME`: will this task really run, and did it?

One report, as a JSON-like dict (the `--json` document; the command prints the same for
people): where the OS entry is and whether it is installed, loaded and enabled; the exact
command; the environment the job will see; whether its interpreter and workdir exist; the next
runs as bassi and as the OS see them; the last runs; the missed runs (`missed.py`); how the
installed entry differs from what the task file says now (`drift.py`); and notes that say what
to do about anything wrong.

Secrets: the env file's secret variables (and any name bassi treats as secret) appear only as
"set"/"unset", and the whole report passes through a Redactor of this process's and the env
file's secret values, so a value that reached a command line or a detail is never printed.
"""

from __future__ import annotations

import os
import shlex
from datetime import datetime
from pathlib import Path
from typing import Any

from bassi_ci.errors import BassiError
from bassi_ci.home import bassi_home, logs_dir, state_db_path
from bassi_ci.runs.history import recent_runs
from bassi_ci.runs.redact import Redactor, secret_values
from bassi_ci.scheduling.backends import backend_named
from bassi_ci.scheduling.base import Entry, SchedulerError, Status
from bassi_ci.scheduling.drift import Difference, difference_line, differences
from bassi_ci.scheduling.envfile import env_file_path
from bassi_ci.scheduling.installed import missed_runs_of
from bassi_ci.scheduling.jobenv import JobParts, is_executable, is_secret, job_parts, read_env_file, shown_environment
from bassi_ci.scheduling.missed import CHECKED, LOOKBACK, MissedRuns
from bassi_ci.scheduling.registry import Installation, read_installations
from bassi_ci.tasks.lookup import history_key
from bassi_ci.tasks.manage import next_fire_times
from bassi_ci.tasks.model import Task

NEXT_COUNT = 3
LAST_COUNT = 5
ZONE_NOTE_BACKENDS = ("cron", "launchd")  # the backends that translate zones and say so in a note


def debug_report(task: Task, now: datetime, install_command: str) -> dict[str, Any]:
    """The whole report; `install_command` is how this task is installed (with its folder flags)."""
    installation, status = _installation_and_status(task)
    parts = job_parts(status.command if status else ())
    env_path = Path(parts.env_file) if parts.env_file else env_file_path(bassi_home())
    variables = _env_variables(env_path)
    report: dict[str, Any] = {
        "id": task.id,
        "name": task.name,
        "path": str(task.source) if task.source else None,
        **_entry_fields(installation if status else None, status),
        **_job_fields(parts, env_path, variables),
        **_run_fields(task, now, status),
        "details": dict(status.details) if status else {},
    }
    changes = differences(task, installation) if installation is not None and status is not None else None
    report["entry_changes"] = [change.to_json() for change in changes] if changes is not None else None
    report["notes"] = _notes(task, report, installation, status, install_command)
    if changes:
        assert installation is not None
        report["notes"].insert(0, _drift_note(installation, changes, install_command))
    secrets = [*secret_values_of(variables or {}), *secret_values(os.environ)]
    redacted: dict[str, Any] = Redactor(secrets).data(report)
    return redacted


def _installation_and_status(task: Task) -> tuple[Installation | None, Status | None]:
    """The registry's record of the task's id, and the backend's status of the entry when the
    record is of this very task file (None otherwise: bassi installs one task per id)."""
    installation = read_installations().get(task.id)
    if installation is None or installation.task_file != history_key(task):
        return installation, None
    backend = backend_named(installation.backend)
    try:
        return installation, backend.status(task.id)
    except SchedulerError as exc:  # e.g. `crontab` missing: the rest of the report still helps
        return installation, Status(backend.name, installed=False, enabled=None, details={"unreadable": str(exc)})


def _entry_fields(installation: Installation | None, status: Status | None) -> dict[str, Any]:
    return {
        "installed": bool(status and status.installed),
        "backend": installation.backend if installation else None,
        "installed_at": installation.installed_at if installation else None,
        "entry_paths": [str(path) for path in status.paths] if status else [],
        "loaded": _loaded(status),
        "enabled": status.enabled if status else None,
        "command": list(status.command) if status else [],
        "command_line": shlex.join(status.command) if status and status.command else None,
    }


def _job_fields(parts: JobParts, env_path: Path, variables: dict[str, str | None] | None) -> dict[str, Any]:
    workdir_exists = parts.workdir is not None and Path(parts.workdir).is_dir()
    return {
        "executable": {"path": parts.executable, "exists": is_executable(parts.executable)},
        "workdir": {"path": parts.workdir, "exists": workdir_exists},
        "env_file": {"path": str(env_path), "exists": variables is not None},
        "environment": shown_environment(variables or {}),
    }


def _run_fields(task: Task, now: datetime, status: Status | None) -> dict[str, Any]:
    missed = missed_runs_of([task], now).get(task.id) if status else None
    return {
        "next_runs": [when.isoformat() for when in next_fire_times(task, now, NEXT_COUNT)],
        "os_next_runs": list(status.os_next_runs) if status else [],
        "last_runs": _last_runs(task),
        "missed_runs": _missed_json(missed),
    }


def secret_values_of(variables: dict[str, str | None]) -> list[str]:
    return [value for name, value in variables.items() if value and is_secret(name)]


def _env_variables(path: Path) -> dict[str, str | None] | None:
    """The env file's variables; None when it is missing or unreadable (the job gets none)."""
    try:
        return read_env_file(path)
    except OSError:
        return None


def _loaded(status: Status | None) -> bool | None:
    """launchd says whether the job is loaded; the others load whatever is installed and enabled."""
    if status is None:
        return None
    word = status.details.get("loaded")
    return {"yes": True, "no": False}.get(word) if word is not None else None


def _last_runs(task: Task) -> list[dict[str, Any]]:
    if not state_db_path().exists():
        return []
    records = recent_runs(state_db_path(), task.id, LAST_COUNT, history_key(task))
    return [
        {"run_id": r.run_id, "started_at": r.started_at, "status": r.status, "duration_ms": r.duration_ms}
        for r in records
    ]


def _missed_json(missed: MissedRuns | None) -> dict[str, Any]:
    if missed is None:
        return {"count": 0, "latest": [], "checked": 0, "since": None}
    return {
        "count": missed.count,
        "latest": [when.isoformat() for when in missed.latest],
        "checked": missed.checked,
        "since": missed.since.isoformat() if missed.since else None,
    }


# --------------------------------------------------------------------------- notes


def _notes(
    task: Task,
    report: dict[str, Any],
    installation: Installation | None,
    status: Status | None,
    install_command: str,
) -> list[str]:
    """What a person should do about what the report shows, most important first."""
    if installation is None:
        return [f"not installed into an OS scheduler, so it never runs on its own; install it with: {install_command}"]
    if status is None:
        return [
            f"the installed '{task.id}' is the task of {installation.task_file}, not of this task file;"
            " bassi installs one task per id"
        ]
    installed = f"bassi installed it with {installation.backend} at {installation.installed_at}"
    if "unreadable" in status.details:
        return [f"{installed}, but {installation.backend} cannot tell about it now: {status.details['unreadable']}"]
    if not status.installed:
        return [
            f"{installed}, but the entry is gone ({status.details.get('problem', 'removed outside bassi')});"
            f" install it again with: {install_command}"
        ]
    return [
        *_state_notes(task, status, install_command),
        *_job_notes(report),
        *_missed_notes(report),
        *_backend_notes(task, status, report),
    ]


def _drift_note(installation: Installation, changes: list[Difference], install_command: str) -> str:
    return (
        f"the OS entry is out of date, the task file changed since it was installed"
        f" ({difference_line(installation, changes)}); update it with: {install_command}"
    )


def _state_notes(task: Task, status: Status, install_command: str) -> list[str]:
    notes = []
    if not task.enabled:
        notes.append(f"the task is paused: no runs are due (resume it with 'bassi schedule resume {task.id}')")
    elif status.enabled is False:
        notes.append(
            f"the task is enabled but its {status.backend} entry is disabled; install it again with: {install_command}"
        )
    if status.enabled is None and "systemctl" in status.details:
        notes.append(f"systemctl cannot say whether the timer is enabled: {status.details['systemctl']}")
    return notes


def _job_notes(report: dict[str, Any]) -> list[str]:
    notes = []
    if not report["executable"]["exists"]:
        notes.append(
            f"the program the job runs ({report['executable']['path']}) is missing or not executable:"
            " bassi was moved or uninstalled since; install the task again"
        )
    if not report["workdir"]["exists"]:
        notes.append(f"the workdir {report['workdir']['path']} does not exist: create it or edit the task's --workdir")
    if not report["env_file"]["exists"]:
        notes.append(
            f"the env file {report['env_file']['path']} is missing: the job gets only the scheduler's minimal"
            " environment (no API key, PATH=/usr/bin:/bin under cron)"
        )
    return notes


def _missed_notes(report: dict[str, Any]) -> list[str]:
    missed = report["missed_runs"]
    if not missed["count"]:
        return []
    logs = report["details"].get("logs")
    where = f" The job's log: {logs}" if logs else ""
    return [
        f"{missed['count']} missed run(s) among the last {missed['checked']} due times (at most {CHECKED},"
        f" {LOOKBACK.days} days back): was the machine off or asleep, or did the job fail to start?{where}"
    ]


def _backend_notes(task: Task, status: Status, report: dict[str, Any]) -> list[str]:
    notes = []
    if "hint" in status.details:  # systemd: no lingering, so timers stop at logout
        notes.append(status.details["hint"])
    if status.backend in ZONE_NOTE_BACKENDS and task.schedule and task.timezone:
        notes += _zone_notes(task, status, report)
    return notes


def _zone_notes(task: Task, status: Status, report: dict[str, Any]) -> list[str]:
    """The backend's own note on time zones (cron without CRON_TZ, launchd), from a plan of the
    same entry: plans only read."""
    assert task.schedule is not None and task.timezone is not None
    workdir = Path(report["workdir"]["path"] or ".")
    entry = Entry(task.id, task.schedule, task.timezone, status.command, workdir, logs_dir() / task.id, task.enabled)
    try:
        return list(backend_named(status.backend).plan_install(entry).notes)
    except BassiError:
        return []
