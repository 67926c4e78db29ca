"""Which tasks bassi installed into an OS scheduler, with which backend, and since when.

Kept in `BASSI_HOME/scheduled.json` (one record per task id: the OS entries are named by id,
so two tasks with one id can never both be installed). `uninstall`, `pause`, `edit` and
`delete` use it to find the backend a task was installed with; `schedule debug` and
`schedule list` use `installed_at` to find missed runs (due times since the install with no
history row) and `entry` to find entries that are out of date (drift.py). Writes are atomic
and serialised by a lock in BASSI_HOME/locks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from bassi_ci.errors import StoreError
from bassi_ci.fsutil import atomic_write_text
from bassi_ci.home import bassi_home

LOCK_TIMEOUT_S = 30


@dataclass(frozen=True)
class Installation:
    task_id: str
    task_file: str  # the task file's real path (tasks.lookup.history_key)
    backend: str  # "systemd" | "launchd" | "cron"
    installed_at: str  # UTC ISO 8601 (clock.utc_iso)
    # The inputs of the entry written (drift.entry_inputs): what `schedule list` compares with
    # the task file to find entries that are out of date. None in records of older bassis.
    entry: dict[str, Any] | None = None


def registry_path() -> Path:
    return bassi_home() / "scheduled.json"


def read_installations() -> dict[str, Installation]:
    """Every installation by task id; no file yet means none. A damaged file is an error, not
    an empty registry: forgetting installations would leave OS entries nobody removes."""
    path = registry_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        records = json.loads(text)["installations"]
        # Fields a later bassi added are left out rather than called damage (a downgrade keeps working).
        installations = [_checked(Installation(**_known(record))) for record in records]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"{path} is damaged ({exc}); fix or remove it, then run 'bassi schedule install'") from None
    return {installation.task_id: installation for installation in installations}


BACKENDS = ("systemd", "launchd", "cron")


def _checked(installation: Installation) -> Installation:
    """The record as read, if its fields have their types: a hand edit that put a number or a
    list where text belongs would otherwise crash every later `schedule list`."""
    for name in ("task_id", "task_file", "installed_at"):
        if not isinstance(getattr(installation, name), str):
            raise TypeError(f"'{name}' of task {installation.task_id!r} is not text")
    if installation.backend not in BACKENDS:
        raise ValueError(f"'backend' of task {installation.task_id!r} is not one of {', '.join(BACKENDS)}")
    if installation.entry is not None and not isinstance(installation.entry, dict):
        raise TypeError(f"'entry' of task {installation.task_id!r} is not an object")
    return installation


def _known(record: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name in _FIELDS}


_FIELDS = frozenset(field.name for field in fields(Installation))


def installation_of(task_id: str) -> Installation | None:
    return read_installations().get(task_id)


def record_installation(installation: Installation) -> None:
    """Add or replace the record of one task."""
    with _locked():
        records = read_installations()
        records[installation.task_id] = installation
        _write(records)


def record_entry(task_id: str, entry: dict[str, Any]) -> None:
    """Replace the entry inputs of an installation, keeping its install time (a pause changes
    the entry but must not restart the watch for missed runs)."""
    with _locked():
        records = read_installations()
        if task_id in records:
            records[task_id] = replace(records[task_id], entry=entry)
            _write(records)


def forget_installation(task_id: str) -> None:
    with _locked():
        records = read_installations()
        if records.pop(task_id, None) is not None:
            _write(records)


def _write(records: dict[str, Installation]) -> None:
    document: dict[str, Any] = {"installations": [asdict(records[key]) for key in sorted(records)]}
    path = registry_path()
    try:
        atomic_write_text(path, json.dumps(document, indent=2) + "\n")
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None


@contextmanager
def _locked() -> Iterator[None]:
    # Lazy: only changes lock; `schedule list` reads the registry, filelock is ~15 ms.
    from filelock import FileLock, Timeout

    lock_path = bassi_home() / "locks" / "scheduled.lock"
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S)
        lock.acquire()
    except Timeout:
        raise StoreError(f"{registry_path()} stayed locked for {LOCK_TIMEOUT_S}s; is another bassi stuck?") from None
    except OSError as exc:
        raise StoreError(f"cannot lock {lock_path}: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        lock.release()
