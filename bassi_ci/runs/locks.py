"""One run at a time per task: an OS file lock under BASSI_HOME/locks/.

The lock is an fcntl/flock lock (via filelock), so the kernel releases it when the
holding process dies, even by SIGKILL: a crashed run never blocks the next one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bassi_ci import output
from bassi_ci.errors import Locked, StoreError
from bassi_ci.home import bassi_home


def lock_path(task_id: str) -> Path:
    return bassi_home() / "locks" / f"{task_id}.lock"


def say_waiting(task_id: str) -> None:
    """The one line `--wait` prints while another run holds the lock (stderr: stdout may be JSON;
    a reader that is gone does not end the run)."""
    output.write(sys.stderr, f"waiting for the running '{task_id}' run to finish…\n")


@contextmanager
def task_lock(task_id: str, *, wait: bool, on_wait: Callable[[str], None] = say_waiting) -> Iterator[None]:
    """Hold the task's lock for the block; raise Locked at once unless `wait`.

    With `wait`, a busy lock calls `on_wait(task_id)` once, then blocks until it is free.
    """
    # Lazy: `--help` and `execute --help` load this module (via the executor); filelock is ~15 ms.
    from filelock import FileLock, Timeout

    path = lock_path(task_id)
    lock = FileLock(str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if not wait:
                raise Locked(
                    f"another run of task '{task_id}' is still in progress; nothing was done "
                    "(use --wait to wait for it)"
                ) from None
            on_wait(task_id)
            lock.acquire(timeout=-1, poll_interval=0.1)
    except OSError as problem:
        raise StoreError(f"cannot take the lock {path}: {problem.strerror or problem}") from None
    try:
        yield
    finally:
        lock.release()
