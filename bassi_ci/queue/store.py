"""The queue's storage interface, and the one place that picks a backend.

Every backend gives the same guarantees, which the commands, the worker and the MCP server rely
on (and tests/queue/test_store.py checks):

- `claim` takes the highest-priority, then oldest, `pending` item in one transaction, so any
  number of workers never take the same item; it counts the attempt and sets a lease.
- Before claiming, items whose lease expired go back to `pending`, or to `failed` with the
  reason once they used their last attempt.
- `renew` extends the lease only for the worker holding it; `LeaseLost` otherwise.
- `complete` is idempotent for the worker that completed the item; completing an item that is
  cancelled, finished by another worker or held by another worker is `WrongState`.

Two backends: SQLite in BASSI_HOME/state.db (`sqlite.py`, one machine), and PostgreSQL
(`postgres.py`, any number of machines) when a queue URL is given (`location.py`). `open_store`
is the one place that picks; the PostgreSQL module and its driver are imported only then.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from bassi_ci.home import state_db_path
from bassi_ci.queue.location import postgres_url
from bassi_ci.queue.model import NewItem, QueueItem
from bassi_ci.queue.sqlite import SqliteQueueStore


class QueueStore(Protocol):
    """What every queue backend offers. Item ids are integers, unique for the queue's lifetime."""

    def add(self, item: NewItem) -> QueueItem: ...

    def claim(self, worker: str, lease_s: float) -> QueueItem | None:
        """The next item, now `running` under `worker`'s lease; None when nothing is pending."""
        ...

    def renew(self, item_id: int, worker: str, lease_s: float) -> None: ...

    def complete(self, item_id: int, worker: str, result: Any, run_id: str | None = None) -> QueueItem: ...

    def fail(self, item_id: int, worker: str, error: str, result: Any = None, run_id: str | None = None) -> QueueItem:
        """The item is `failed` with `error` (no automatic retry: `retry` puts it back)."""
        ...

    def release(self, item_id: int, worker: str, reason: str) -> QueueItem:
        """Give the item back unfinished (the worker was interrupted): `pending` again, its attempt
        counted, or `failed` with `reason` after its last attempt."""
        ...

    def cancel(self, item_id: int) -> QueueItem: ...

    def retry(self, item_id: int) -> QueueItem: ...

    def get(self, item_id: int) -> QueueItem: ...

    def list(self, status: str | None = None, limit: int | None = None) -> list[QueueItem]:
        """Items without their result documents, oldest first."""
        ...

    def count(self, status: str | None = None) -> int: ...

    def close(self) -> None: ...


Clock = Callable[[], datetime]


def open_store(db_path: Path | None = None, now: Clock | None = None, url: str | None = None) -> QueueStore:
    """The PostgreSQL queue of `url` (`--queue-url`), else of $BASSI_QUEUE_URL; without either,
    the queue of this machine (BASSI_HOME/state.db, or `db_path`)."""
    postgres = postgres_url(url)
    if postgres is None:
        return SqliteQueueStore(db_path or state_db_path(), now=now)
    from bassi_ci.queue.postgres import PostgresQueueStore  # loads psycopg: only for this queue

    return PostgresQueueStore(postgres, now=now)
