"""One run at a time per task: an OS file lock under BASSI_HOME/locks/.

The lock is an fcntl/flock lock (via filelock), so the kernel releases it when the
holding process dies, even by SIGKILL: a crashed run never blocks the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bassi_ci.errors import Locked, StoreError
from bassi_ci.home import bassi_home


def lock_path(task_id: str) -> Path:
    return bassi_home() / "locks" / f"{task_id}.lock"


@contextmanager
def task_lock(task_id: str, *, wait: bool) -> Iterator[None]:
    """Hold the task's lock for the block; raise Locked at once unless `wait`."""
    # Lazy: `--help` and `execute --help` load this module (via the executor); filelock is ~15 ms.
    from filelock import FileLock, Timeout

    path = lock_path(task_id)
    lock = FileLock(str(path), timeout=-1 if wait else 0)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire(poll_interval=0.1)
    except Timeout:
        raise Locked(
            f"another run of task '{task_id}' is still in progress; nothing was done (use --wait to wait for it)"
        ) from None
    except OSError as problem:
        raise StoreError(f"cannot take the lock {path}: {problem.strerror or problem}") from None
    try:
        yield
    finally:
        lock.release()
