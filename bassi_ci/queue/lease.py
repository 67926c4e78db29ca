"""Keeping a claimed item's lease alive while its run goes on.

A background thread renews the lease every third of its length with a connection of its own
(SQLite connections stay in their thread). When the worker dies, renewals stop and the item's
lease runs out, so another worker takes it; that is the whole crash recovery.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from types import TracebackType

from bassi_ci.errors import BassiError
from bassi_ci.queue.model import LeaseLost
from bassi_ci.queue.store import QueueStore


class LeaseKeeper:
    """`with LeaseKeeper(open_store, item_id, worker, lease_s):` renews until the block ends."""

    def __init__(self, open_store: Callable[[], QueueStore], item_id: int, worker: str, lease_s: float) -> None:
        self._open_store = open_store
        self._item_id = item_id
        self._worker = worker
        self._lease_s = lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_until_stopped, name=f"lease-{item_id}", daemon=True)
        self.lost: str | None = None  # why the lease was lost, if it was

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _renew_until_stopped(self) -> None:
        store: QueueStore | None = None
        try:
            while not self._stop.wait(self._lease_s / 3):
                try:
                    store = store or self._open_store()
                    store.renew(self._item_id, self._worker, self._lease_s)
                except LeaseLost as problem:
                    self.lost = str(problem)
                    return
                except BassiError as problem:  # a busy or broken database: try again at the next tick
                    sys.stderr.write(
                        f"bassi: warning: cannot renew the lease of queue item {self._item_id}: {problem}\n"
                    )
        finally:
            if store is not None:
                with contextlib.suppress(BassiError):
                    store.close()
