"""Tasks kept under BASSI_HOME/tasks, one YAML file per task.

Writes go through a lock file and an atomic replace, so two `bassi` processes
editing tasks at once never lose each other's work and a reader never sees a
half-written file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from bassi_ci.errors import TaskFileError, TaskNotFound, UsageError
from bassi_ci.fsutil import atomic_write_text
from bassi_ci.home import tasks_dir
from bassi_ci.tasks.cache import ValidatedCache, file_key
from bassi_ci.tasks.loader import check_task_semantics, load_task_file
from bassi_ci.tasks.model import SLUG_RE, Task, task_from_dict

LOCK_TIMEOUT_S = 30


@dataclass(frozen=True)
class StoredTask:
    """One file of the store: a task, or the error that stops it from loading."""

    path: Path
    task: Task | None
    error: str | None

    @property
    def task_id(self) -> str:
        return self.task.id if self.task else self.path.stem


class TaskStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else tasks_dir()

    def path_for(self, task_id: str) -> Path:
        check_task_id(task_id)
        return self.root / f"{task_id}.yaml"

    def entries(self) -> list[StoredTask]:
        """Every task file, sorted by id; a broken file is an entry with its error."""
        if not self.root.is_dir():
            return []
        cache = ValidatedCache(self.root)
        paths = sorted(self.root.glob("*.yaml"))
        entries = [self._entry(path, cache) for path in paths]
        cache.save({path.name for path in paths})
        return entries

    def get(self, task_id: str) -> Task:
        path = self.path_for(task_id)
        if not path.exists():
            raise TaskNotFound(f"no task named '{task_id}'; see 'bassi schedule list'")
        return load_task_file(path)

    def exists(self, task_id: str) -> bool:
        return self.path_for(task_id).exists()

    def add(self, task: Task) -> Path:
        """Store a new task; refuse when the id is taken."""
        with self._locked():
            path = self.path_for(task.id)
            if path.exists():
                raise UsageError(
                    f"a task named '{task.id}' exists already; "
                    f"use 'bassi schedule edit {task.id}' or pick another name"
                )
            self._write(path, task)
        return path

    def update(self, task_id: str, change: Callable[[Task], Task]) -> Task:
        """Read, change and write back one task under the lock (no lost updates)."""
        with self._locked():
            new = change(self.get(task_id))
            if new.id != task_id:
                raise UsageError("a task's id cannot change; delete it and add it again")
            self._write(self.path_for(task_id), new)
        return new

    def delete(self, task_id: str) -> None:
        with self._locked():
            path = self.path_for(task_id)
            if not path.exists():
                raise TaskNotFound(f"no task named '{task_id}'; see 'bassi schedule list'")
            path.unlink()

    def _entry(self, path: Path, cache: ValidatedCache) -> StoredTask:
        try:
            task = self._load_cached(path, cache)
        except TaskFileError as exc:
            return StoredTask(path, None, str(exc))
        if task.id != path.stem:
            return StoredTask(path, None, f"{path}: field 'id': '{task.id}' does not match the file name")
        return StoredTask(path, task, None)

    def _load_cached(self, path: Path, cache: ValidatedCache) -> Task:
        try:
            key = file_key(path)
        except OSError:
            return load_task_file(path)  # vanished or unreadable: let the loader say why
        record = cache.get(path.name, key)
        if record is None:
            task = load_task_file(path)
            cache.put(path.name, key, task.to_dict())
            return task
        task = task_from_dict(record, source=path)
        check_task_semantics(task, path)
        return task

    def _write(self, path: Path, task: Task) -> None:
        text = yaml.safe_dump(task.to_dict(), sort_keys=False, allow_unicode=True, width=100)
        atomic_write_text(path, text)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / ".lock"), timeout=LOCK_TIMEOUT_S)
        try:
            with lock:
                yield
        except Timeout:
            raise UsageError(
                f"the task store {self.root} stayed locked for {LOCK_TIMEOUT_S}s; "
                "is another bassi command stuck?"
            ) from None


def check_task_id(task_id: str) -> None:
    """Refuse ids that could escape the folder or inject into unit names and crontabs."""
    if not SLUG_RE.match(task_id) or len(task_id) > 63:
        raise UsageError(
            f"'{task_id}' is not a valid task id: use lower-case letters, digits and hyphens "
            "(e.g. 'weekly-report')"
        )
