"""A folder of task files (BASSI_HOME/tasks, a repository's .bassi/tasks, any --tasks-dir).

Writes go through a lock file and an atomic replace, so two `bassi` processes
editing tasks at once never lose each other's work and a reader never sees a
half-written file. File-system failures become one-line StoreErrors naming the path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from bassi_ci.errors import StoreError, TaskFileError, TaskNotFound, UsageError
from bassi_ci.fsutil import atomic_write_text
from bassi_ci.home import bassi_home, folder_state_path, tasks_dir
from bassi_ci.tasks.cache import ValidatedCache, file_key
from bassi_ci.tasks.loader import TASK_SUFFIXES, check_task_semantics, load_task_file
from bassi_ci.tasks.matching import did_you_mean, match_task
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
    """One folder of task files: the personal store (BASSI_HOME/tasks), a repository's
    `.bassi/tasks/`, or any folder given with --tasks-dir.

    Files may have any name; a task is known by its `id` (see tasks.matching for names).
    `add` writes `<id>.yaml`. The folder holds task files only: the lock and the cache are
    kept in BASSI_HOME (home.folder_state_path).
    """

    def __init__(self, root: Path | None = None, *, flag: str = "") -> None:
        self.root = root if root is not None else tasks_dir()
        self.flag = flag  # how the user chose this folder (e.g. "--repo"), for the hints in errors
        # Locks and caches are named after the real folder: `--repo` and `--tasks-dir <a link to
        # it>` are one folder, so they must share one lock.
        self.real_root = self.root.resolve()
        check_tasks_folder(self.root, self.real_root)

    def path_for(self, task_id: str) -> Path:
        check_task_id(task_id)
        return self.root / f"{task_id}.yaml"

    def entries(self) -> list[StoredTask]:
        """Every task file, sorted by id; a broken file, or a second file with a taken id, is an
        entry with its error."""
        cache = ValidatedCache(self.real_root)
        paths = self._task_paths()
        entries = _without_repeated_ids([self._entry(path, cache) for path in paths])
        cache.save({path.name for path in paths})
        return sorted(entries, key=lambda entry: (entry.task_id, entry.path.name))

    def get(self, spec: str) -> Task:
        """The task `spec` (an id or a name) names; TaskNotFound with a did-you-mean otherwise."""
        task = self.find(spec)
        if task is None:
            raise TaskNotFound(self._not_found(spec))
        return task

    def find(self, spec: str) -> Task | None:
        """The task `spec` names, or None: for lookups that search further.

        `<spec>.yaml` holding that id is taken at once (no need to read the whole folder);
        anything else is matched against every task. A broken file named after `spec`
        raises its own error, so the user learns why their task does not load.
        """
        quick = self._by_file_name(spec)
        if quick is not None:
            return quick
        entries = self.entries()
        if looks_like_a_path(spec):
            return self._by_path(spec, entries)
        for entry in entries:
            if entry.error and entry.path.stem == spec:
                raise TaskFileError(entry.error)
        return match_task(spec, [entry.task for entry in entries if entry.task])

    def names(self) -> list[str]:
        """Ids and names of the loadable tasks: what a did-you-mean may suggest."""
        tasks = [entry.task for entry in self.entries() if entry.task]
        return [*(task.id for task in tasks), *(task.name for task in tasks)]

    def add(self, task: Task) -> Path:
        """Store a new task as `<id>.yaml`; refuse when the id is taken."""
        with self._locked():
            self.refuse_taken(task.id)
            path = self.path_for(task.id)
            self._write(path, task)
        return path

    def refuse_taken(self, task_id: str) -> None:
        """The error `add` gives for an id that is taken (also checked by a dry run, which adds nothing)."""
        taken = _present(self.path_for(task_id)) or any(entry.task_id == task_id for entry in self.entries())
        if taken:
            raise UsageError(
                f"a task with the id '{task_id}' exists already in {self.root}; "
                f"use 'bassi schedule edit {task_id}{self._flag()}' or pick another name (or --id)"
            )

    def update(self, spec: str, change: Callable[[Task], Task]) -> Task:
        """Read, change and write back one task under the lock (no lost updates).

        The lock keeps other bassi commands out; an editor does not take it, so a file that
        changed between bassi's read and its write is left as the editor saved it (StoreError).
        A task file that is a symbolic link is changed where it points, and stays a link.
        """
        with self._locked():
            found = self.get(spec)
            path = found.source
            assert path is not None  # every stored task was read from its file
            read_key = _file_key_or_none(path)
            old = load_task_file(path)  # read after taking its key: a later change shows in the key
            new = change(old)
            if new.id != old.id:
                raise UsageError("a task's id cannot change; delete it and add it again")
            if old.id != found.id or _file_key_or_none(path) != read_key:
                raise StoreError(
                    f"{path} changed while bassi was editing it; nothing was written: run the command again"
                )
            self._write(path.resolve(), new)
        return replace(new, source=path)

    def delete(self, spec: str) -> Task | None:
        """Remove a task file, even a broken one named `spec` (so `list` can always be cleaned up).

        Returns the task that was deleted (None for a broken file).
        """
        with self._locked():
            task, path = self._deletable(spec)
            try:
                path.unlink()
            except OSError as exc:
                raise StoreError(f"cannot delete {path}: {exc.strerror or exc}; remove it by hand") from None
        return task

    def _deletable(self, spec: str) -> tuple[Task | None, Path]:
        try:
            task = self.get(spec)
        except TaskFileError:
            return None, next(e.path for e in self.entries() if e.error and e.path.stem == spec)
        assert task.source is not None
        return task, task.source

    def _task_paths(self) -> list[Path]:
        try:
            names = sorted(self.root.iterdir())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot read the tasks folder {self.root}: {self._why(exc)}") from None
        return [p for p in names if p.suffix.lower() in TASK_SUFFIXES and not p.name.startswith(".")]

    def _by_path(self, spec: str, entries: list[StoredTask]) -> Task | None:
        """The task of the file `spec` names, when that file is one of this folder's."""
        wanted = Path(spec).expanduser().resolve()
        for entry in entries:
            if entry.path.resolve() == wanted:
                if entry.error:
                    raise TaskFileError(entry.error)
                return entry.task
        return None

    def _by_file_name(self, spec: str) -> Task | None:
        if not SLUG_RE.match(spec):
            return None
        for suffix in TASK_SUFFIXES:
            path = self.root / f"{spec}{suffix}"
            if _present(path):
                task = load_task_file(path)
                if task.id == spec:
                    return task
        return None

    def _not_found(self, spec: str) -> str:
        hint = did_you_mean(spec, self.names())
        return f"no task named '{spec}' in {self.root}{hint}; see 'bassi schedule list{self._flag()}'"

    def _why(self, exc: OSError) -> str:
        """The reason for a failure on the folder itself; a file in its place is named as such
        (`.bassi/tasks` committed as a file), not as "Not a directory" or "File exists"."""
        if self.root.is_file():
            return "it is a file, not a folder of task files; move it away or choose another folder"
        return str(exc.strerror or exc)

    def _flag(self) -> str:
        return f" {self.flag}" if self.flag else ""

    def _entry(self, path: Path, cache: ValidatedCache) -> StoredTask:
        try:
            return StoredTask(path, self._load_cached(path, cache), None)
        except TaskFileError as exc:
            return StoredTask(path, None, str(exc))

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
        try:
            atomic_write_text(path, task_file_text(task, path))
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Lazy: only writes lock; `schedule list` and `--help` load the store, filelock is ~15 ms.
        from filelock import FileLock, Timeout

        lock_path = folder_state_path(self.real_root, "locks", ".lock")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S)
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"the tasks folder {self.root} stayed locked for {LOCK_TIMEOUT_S}s; is another bassi command stuck?"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot use the tasks folder {self.root}: {self._why(exc)}") from None
        try:
            yield
        finally:
            lock.release()


def task_file_text(task: Task, path: Path) -> str:
    """A task as file text: JSON for a `.json` file (kept in its format), YAML otherwise."""
    if path.suffix.lower() == ".json":
        return json.dumps(task.to_dict(), indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(task.to_dict(), sort_keys=False, allow_unicode=True, width=100)


def _without_repeated_ids(entries: list[StoredTask]) -> list[StoredTask]:
    """A second file with an id that another file already has becomes an error entry: two
    tasks with one id would fight over the same runs, lock and history.

    The file named after the id (`<id>.yaml`, then `.yml`, `.json`) keeps it, else the first by
    name: the file `TaskStore.find` takes at once, so `list` and `show` agree which one runs.
    """
    first: dict[str, Path] = {}
    kept = []
    for entry in sorted(entries, key=_owner_rank):
        if entry.task is not None and entry.task.id in first:
            other = first[entry.task.id]
            error = f"{entry.path}: task id '{entry.task.id}' is also used by {other}; change one of them"
            entry = StoredTask(entry.path, None, error)
        elif entry.task is not None:
            first[entry.task.id] = entry.path
        kept.append(entry)
    return kept


def _owner_rank(entry: StoredTask) -> tuple[int, str]:
    names = [f"{entry.task.id}{suffix}" for suffix in TASK_SUFFIXES] if entry.task else []
    return (names.index(entry.path.name) if entry.path.name in names else len(names), entry.path.name)


def _file_key_or_none(path: Path) -> list[int] | None:
    try:
        return file_key(path)
    except OSError:
        return None


def check_tasks_folder(root: Path, real_root: Path) -> None:
    """Refuse folders that are not tasks folders, where every .yaml/.json file of bassi's own
    state or of the whole system would be read (and written) as a task."""
    if real_root == bassi_home().resolve():
        raise UsageError(
            f"{root} is BASSI_HOME itself, not a folder of task files: personal tasks live in {tasks_dir()} "
            "(the default, no flag needed)"
        )
    if real_root == Path(real_root.anchor):
        raise UsageError(f"{root} is the file system's root, not a folder of task files; give the folder of your tasks")


def looks_like_a_path(spec: str) -> bool:
    """A spec with a path separator or a task-file suffix names a file, never an id or a name."""
    return "/" in spec or "\\" in spec or Path(spec).suffix.lower() in TASK_SUFFIXES


def _present(path: Path) -> bool:
    """True for anything at `path`, a dangling symlink included."""
    return path.exists() or path.is_symlink()


def check_task_id(task_id: str) -> None:
    """Refuse ids that could escape the folder or inject into unit names and crontabs."""
    if not SLUG_RE.match(task_id) or len(task_id) > 63:
        raise UsageError(
            f"'{task_id}' is not a valid task id: use lower-case letters, digits and hyphens (e.g. 'weekly-report')"
        )
