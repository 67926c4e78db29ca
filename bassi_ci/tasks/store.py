"""Tasks kept under BASSI_HOME/tasks, one YAML file per task.

Writes go through a lock file and an atomic replace, so two `bassi` processes
editing tasks at once never lose each other's work and a reader never sees a
half-written file. File-system failures become one-line StoreErrors naming the path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from bassi_ci.errors import StoreError, TaskFileError, TaskNotFound, UsageError
from bassi_ci.fsutil import atomic_write_text
from bassi_ci.home import tasks_dir
from bassi_ci.tasks.cache import ValidatedCache, file_key
from bassi_ci.tasks.loader import TASK_SUFFIXES, check_task_semantics, load_task_file
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
        try:
            paths = sorted(p for p in self.root.iterdir() if p.suffix in TASK_SUFFIXES and not p.name.startswith("."))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot read the task store {self.root}: {exc.strerror or exc}") from None
        cache = ValidatedCache(self.root)
        entries = [self._entry(path, cache) for path in paths]
        cache.save({path.name for path in paths})
        return entries

    def get(self, task_id: str) -> Task:
        return self._checked(self._existing_path(task_id))

    def find(self, task_id: str) -> Task | None:
        """The stored task, or None when the store has none: for lookups that search further."""
        path = self.path_for(task_id)
        return self._checked(path) if _present(path) else None

    def add(self, task: Task) -> Path:
        """Store a new task; refuse when the id is taken."""
        with self._locked():
            path = self.path_for(task.id)
            if _present(path):
                raise UsageError(
                    f"a task named '{task.id}' exists already; use 'bassi schedule edit {task.id}' or pick another name"
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
        """Remove a task file, even a broken one (so `list` can always be cleaned up)."""
        with self._locked():
            path = self._existing_path(task_id)
            try:
                path.unlink()
            except OSError as exc:
                raise StoreError(f"cannot delete {path}: {exc.strerror or exc}; remove it by hand") from None

    def _existing_path(self, task_id: str) -> Path:
        path = self.path_for(task_id)
        if not _present(path):
            raise TaskNotFound(f"no task named '{task_id}'; see 'bassi schedule list'")
        return path

    def _entry(self, path: Path, cache: ValidatedCache) -> StoredTask:
        if path.suffix != ".yaml":
            return StoredTask(path, None, f"{path}: the store keeps tasks as <id>.yaml; rename the file")
        try:
            return StoredTask(path, self._checked(path, cache), None)
        except TaskFileError as exc:
            return StoredTask(path, None, str(exc))

    def _checked(self, path: Path, cache: ValidatedCache | None = None) -> Task:
        """Load a store file and insist that its id is its file name."""
        task = self._load_cached(path, cache) if cache else load_task_file(path)
        if task.id != path.stem:
            raise TaskFileError(f"{path}: field 'id': '{task.id}' does not match the file name; make them the same")
        return task

    def _load_cached(self, path: Path, cache: ValidatedCache) -> Task:
        try:
            key = file_key(path)
        except OSError:
            return load_task_file(path)  # vanished or unreadable: let the loader say why
        record = cache.get(path.name, key)
        if record is not None:
            try:
                task = task_from_dict(record, source=path)
            except (KeyError, TypeError, ValueError):
                pass  # a damaged cache entry: validate the file again below
            else:
                check_task_semantics(task, path)
                return task
        task = load_task_file(path)
        cache.put(path.name, key, task.to_dict())
        return task

    def _write(self, path: Path, task: Task) -> None:
        text = yaml.safe_dump(task.to_dict(), sort_keys=False, allow_unicode=True, width=100)
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Lazy: only writes lock; `schedule list` and `--help` load the store, filelock is ~15 ms.
        from filelock import FileLock, Timeout

        lock_path = self.root / ".lock"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S)
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"the task store {self.root} stayed locked for {LOCK_TIMEOUT_S}s; is another bassi command stuck?"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot use the task store {self.root}: {exc.strerror or exc}") from None
        try:
            yield
        finally:
            lock.release()


def _present(path: Path) -> bool:
    """True for anything at `path`, a dangling symlink included."""
    return path.exists() or path.is_symlink()


def check_task_id(task_id: str) -> None:
    """Refuse ids that could escape the folder or inject into unit names and crontabs."""
    if not SLUG_RE.match(task_id) or len(task_id) > 63:
        raise UsageError(
            f"'{task_id}' is not a valid task id: use lower-case letters, digits and hyphens (e.g. 'weekly-report')"
        )
