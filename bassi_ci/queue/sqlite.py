"""The queue in SQLite, beside the run history in BASSI_HOME/state.db (WAL; the table is created
by the history's migrations, so the file has one list of them).

Every change is one `BEGIN IMMEDIATE` transaction: SQLite lets one writer in at a time, so two
workers can never both see an item `pending` and both take it. Readers are not blocked (WAL).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bassi_ci import clock
from bassi_ci.errors import UsageError
from bassi_ci.queue import transitions
from bassi_ci.queue.model import (
    DONE,
    FAILED,
    ITEM_COLUMNS,
    LIST_COLUMNS,
    MAX_ITEM_ID,
    PENDING,
    RUNNING,
    STATUSES,
    ItemNotFound,
    LeaseLost,
    NewItem,
    QueueItem,
    QueueStoreError,
    state_of,
)
from bassi_ci.runs import history


class SqliteQueueStore:
    """The QueueStore of one state.db; one connection, used from one thread (open one per thread)."""

    def __init__(self, db_path: Path, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or clock.now
        self._path = db_path
        self._stack = ExitStack()
        self._db = self._stack.enter_context(history.connect(db_path, "the task queue"))

    def close(self) -> None:
        self._stack.close()

    # ------------------------------------------------------------------ adding and claiming

    def add(self, item: NewItem) -> QueueItem:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO queue_items (name, prompt, task, priority, vars, status, max_attempts, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    item.name,
                    item.prompt,
                    item.task,
                    item.priority,
                    json.dumps(item.vars),
                    PENDING,
                    item.max_attempts,
                    self._stamp(),
                ),
            )
            item_id = int(cursor.lastrowid or 0)
        return self.get(item_id)

    def claim(self, worker: str, lease_s: float) -> QueueItem | None:
        now = self._now()
        with self._write() as db:
            self._expire_leases(db, now)
            row = db.execute(
                "SELECT id FROM queue_items WHERE status = ? ORDER BY priority DESC, id LIMIT 1", (PENDING,)
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE queue_items SET status = ?, attempts = attempts + 1, worker = ?, lease_expires_at = ?,"
                " started_at = ?, finished_at = NULL WHERE id = ?",
                (RUNNING, worker, _later(now, lease_s), clock.utc_iso(now), row["id"]),
            )
            return self._item(db, row["id"])

    def renew(self, item_id: int, worker: str, lease_s: float) -> None:
        with self._write() as db:
            renewed = db.execute(
                "UPDATE queue_items SET lease_expires_at = ? WHERE id = ? AND status = ? AND worker = ?",
                (_later(self._now(), lease_s), item_id, RUNNING, worker),
            ).rowcount
            if not renewed:
                item = self._item(db, item_id)
                raise LeaseLost(f"queue item {item_id} is no longer held by {worker}: it is {state_of(item)}")

    # ------------------------------------------------------------------ finishing

    def complete(self, item_id: int, worker: str, result: Any, run_id: str | None = None) -> QueueItem:
        return self._finish(item_id, worker, DONE, result, None, run_id)

    def fail(self, item_id: int, worker: str, error: str, result: Any = None, run_id: str | None = None) -> QueueItem:
        return self._finish(item_id, worker, FAILED, result, error, run_id)

    def _finish(
        self, item_id: int, worker: str, status: str, result: Any, error: str | None, run_id: str | None
    ) -> QueueItem:
        with self._write() as db:
            item = self._item(db, item_id)
            columns = transitions.finished(item, worker, status, result, error, run_id, self._stamp())
            return item if columns is None else self._set(db, item_id, columns)

    def release(self, item_id: int, worker: str, reason: str) -> QueueItem:
        with self._write() as db:
            item = self._item(db, item_id)
            return self._set(db, item_id, transitions.released(item, worker, reason, self._stamp()))

    # ------------------------------------------------------------------ by hand

    def cancel(self, item_id: int) -> QueueItem:
        with self._write() as db:
            return self._set(db, item_id, transitions.cancelled(self._item(db, item_id), self._stamp()))

    def retry(self, item_id: int) -> QueueItem:
        with self._write() as db:
            return self._set(db, item_id, transitions.retried(self._item(db, item_id)))

    # ------------------------------------------------------------------ reading

    def get(self, item_id: int) -> QueueItem:
        self._expire_if_due()
        with self._guard():
            return self._item(self._db, item_id)

    def list(self, status: str | None = None, limit: int | None = None) -> list[QueueItem]:
        where, params = self._status_filter(status)
        with self._guard():
            rows = self._db.execute(
                f"SELECT {LIST_COLUMNS} FROM queue_items {where} ORDER BY id LIMIT ?", (*params, limit or -1)
            ).fetchall()
        return [QueueItem.from_row(row) for row in rows]

    def count(self, status: str | None = None) -> int:
        where, params = self._status_filter(status)
        with self._guard():
            row = self._db.execute(f"SELECT COUNT(*) FROM queue_items {where}", params).fetchone()
        return int(row[0])

    def _status_filter(self, status: str | None) -> tuple[str, tuple[str, ...]]:
        """The WHERE clause for one state (checked), after bringing expired leases up to date."""
        if status is not None and status not in STATUSES:
            raise UsageError(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
        self._expire_if_due()
        return ("WHERE status = ?", (status,)) if status else ("", ())

    # ------------------------------------------------------------------ internals

    def _item(self, db: sqlite3.Connection, item_id: int) -> QueueItem:
        # sqlite3 raises OverflowError for an int beyond 64 bits, where no item can be anyway.
        in_range = -MAX_ITEM_ID <= item_id <= MAX_ITEM_ID
        query = f"SELECT {ITEM_COLUMNS} FROM queue_items WHERE id = ?"
        row = db.execute(query, (item_id,)).fetchone() if in_range else None
        if row is None:
            raise ItemNotFound(f"no queue item {item_id} (see 'bassi queue list')")
        return QueueItem.from_row(row)

    def _set(self, db: sqlite3.Connection, item_id: int, columns: transitions.Columns) -> QueueItem:
        assignments = ", ".join(f"{name} = ?" for name in columns)
        db.execute(f"UPDATE queue_items SET {assignments} WHERE id = ?", (*columns.values(), item_id))
        return self._item(db, item_id)

    def _expire_if_due(self) -> None:
        """Reads show the truth too, but take the write lock only when some lease did expire."""
        now = self._now()
        with self._guard():
            due = self._db.execute(
                "SELECT 1 FROM queue_items WHERE status = ? AND lease_expires_at < ? LIMIT 1",
                (RUNNING, clock.utc_iso(now)),
            ).fetchone()
        if due:
            with self._write() as db:
                self._expire_leases(db, now)

    def _expire_leases(self, db: sqlite3.Connection, now: datetime) -> None:
        """Items whose worker stopped renewing: back to `pending`, or `failed` after the last attempt."""
        stamp = clock.utc_iso(now)
        db.execute(
            """UPDATE queue_items SET
                   status = CASE WHEN attempts >= max_attempts THEN ? ELSE ? END,
                   finished_at = CASE WHEN attempts >= max_attempts THEN ? ELSE NULL END,
                   error = 'the lease of worker ' || worker || ' expired on attempt ' || attempts || ' of '
                           || max_attempts || ' (the worker stopped without finishing the item)',
                   lease_expires_at = NULL
               WHERE status = ? AND lease_expires_at < ?""",
            (FAILED, PENDING, stamp, RUNNING, stamp),
        )

    def _stamp(self) -> str:
        return clock.utc_iso(self._now())

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as problem:
            raise QueueStoreError(f"cannot use the task queue in {self._path}: {problem}") from problem

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._guard(), history.transaction(self._db):
            yield self._db


def _later(now: datetime, seconds: float) -> str:
    return clock.utc_iso(now + timedelta(seconds=seconds))
