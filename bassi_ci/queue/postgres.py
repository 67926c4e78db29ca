"""The queue in PostgreSQL, for workers on many machines (`BASSI_QUEUE_URL=postgresql://…`).

Same rules as the SQLite queue (bassi_ci/queue/store.py lists them), kept by row locks instead
of SQLite's one writer:

- a claim settles expired leases (one statement), then takes the best pending item and marks it
  running in one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)` (a row another worker
  is taking is passed over, never waited for or taken twice);
- settling expired leases locks the rows it changes the same way (`SKIP LOCKED`, in id order):
  a row another transaction holds is left to it (it is being settled, renewed or finished
  there), so settling never waits and two settlers never deadlock;
- everything else that changes one item first locks it (`SELECT … FOR UPDATE`), then checks its
  state; completing and failing first try one `UPDATE … WHERE` the worker still holds the item,
  and take that path only when it changed nothing (it then says why, or sees a repeated end).

"Now" is the injected clock's, never the server's, so leases follow the same clock as the
SQLite queue's (and tests can move it). Times are stored to the millisecond, as shown.
One connection per store, in autocommit outside the transactions above (a worker never sits
idle inside a transaction); a connection the server dropped is opened again at the next call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bassi_ci import clock
from bassi_ci.errors import UsageError
from bassi_ci.queue import transitions
from bassi_ci.queue.model import (
    DONE,
    FAILED,
    ITEM_COLUMNS,
    LIST_COLUMNS,
    PENDING,
    RUNNING,
    STATUSES,
    ItemNotFound,
    LeaseLost,
    NewItem,
    QueueItem,
    state_of,
)
from bassi_ci.queue.pg_connection import connect, translated
from bassi_ci.queue.pg_schema import ITEMS_TABLE, migrate

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import DictRow

TABLE = ITEMS_TABLE
EXPIRED_ERROR = (
    "'the lease of worker ' || worker || ' expired on attempt ' || attempts || ' of ' || max_attempts"
    " || ' (the worker stopped without finishing the item)'"
)


class PostgresQueueStore:
    """The QueueStore of one PostgreSQL database; one connection, used from one thread."""

    def __init__(self, url: str, now: Callable[[], datetime] | None = None) -> None:
        self._url = url
        self._now = now or clock.now
        self._db: Connection[DictRow] = connect(url)
        try:
            with translated(url):
                migrate(self._db)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------ adding and claiming

    def add(self, item: NewItem) -> QueueItem:
        with self._write() as db:
            row = db.execute(
                f"INSERT INTO {TABLE} (name, prompt, task, priority, vars, status, max_attempts, created_at)"
                f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING {ITEM_COLUMNS}",
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
            ).fetchone()
        return _item_of(row)

    def claim(self, worker: str, lease_s: float) -> QueueItem | None:
        now = _to_ms(self._now())
        with self._autocommit() as db:  # two statements, each its own transaction
            self._expire_leases(db, now)  # first, so an item whose lease just expired is claimable
            claimed = db.execute(
                f"UPDATE {TABLE} SET status = %s, attempts = attempts + 1, worker = %s, lease_expires_at = %s,"
                f" started_at = %s, finished_at = NULL WHERE id = (SELECT id FROM {TABLE} WHERE status = %s"
                f" ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {ITEM_COLUMNS}",
                (RUNNING, worker, _later(now, lease_s), now, PENDING),
            ).fetchone()
        return _item_of(claimed) if claimed is not None else None

    def renew(self, item_id: int, worker: str, lease_s: float) -> None:
        with self._write() as db:
            renewed = db.execute(
                f"UPDATE {TABLE} SET lease_expires_at = %s WHERE id = %s AND status = %s AND worker = %s",
                (_later(self._now(), lease_s), item_id, RUNNING, worker),
            ).rowcount
            if not renewed:
                item = self._locked_item(db, item_id)
                raise LeaseLost(f"queue item {item_id} is no longer held by {worker}: it is {state_of(item)}")

    # ------------------------------------------------------------------ finishing

    def complete(self, item_id: int, worker: str, result: Any, run_id: str | None = None) -> QueueItem:
        return self._finish(item_id, worker, DONE, result, None, run_id)

    def fail(self, item_id: int, worker: str, error: str, result: Any = None, run_id: str | None = None) -> QueueItem:
        return self._finish(item_id, worker, FAILED, result, error, run_id)

    def _finish(
        self, item_id: int, worker: str, status: str, result: Any, error: str | None, run_id: str | None
    ) -> QueueItem:
        with self._autocommit() as db:  # the usual case in one statement: the worker still holds the item
            assignments, params = _assignments(transitions.finish_columns(status, result, error, run_id, self._stamp()))
            row = db.execute(
                f"UPDATE {TABLE} SET {assignments} WHERE id = %s AND worker = %s AND status IN (%s, %s)"
                f" RETURNING {ITEM_COLUMNS}",
                (*params, item_id, worker, RUNNING, PENDING),
            ).fetchone()
        if row is not None:
            return _item_of(row)
        with self._write() as db:  # not held (or no such item): look under the row's lock, say why
            item = self._locked_item(db, item_id)
            columns = transitions.finished(item, worker, status, result, error, run_id, self._stamp())
            return item if columns is None else self._set(db, item_id, columns)  # held again since (same name)

    def release(self, item_id: int, worker: str, reason: str) -> QueueItem:
        with self._write() as db:
            item = self._locked_item(db, item_id)
            return self._set(db, item_id, transitions.released(item, worker, reason, self._stamp()))

    # ------------------------------------------------------------------ by hand

    def cancel(self, item_id: int) -> QueueItem:
        with self._write() as db:
            return self._set(db, item_id, transitions.cancelled(self._locked_item(db, item_id), self._stamp()))

    def retry(self, item_id: int) -> QueueItem:
        with self._write() as db:
            return self._set(db, item_id, transitions.retried(self._locked_item(db, item_id)))

    # ------------------------------------------------------------------ reading

    def get(self, item_id: int) -> QueueItem:
        self._settle_leases()
        with self._autocommit() as db:
            row = db.execute(f"SELECT {ITEM_COLUMNS} FROM {TABLE} WHERE id = %s", (item_id,)).fetchone()
        return _item_of(row, item_id)

    def list(self, status: str | None = None, limit: int | None = None) -> list[QueueItem]:
        where, params = self._status_filter(status)
        with self._autocommit() as db:
            rows = db.execute(
                f"SELECT {LIST_COLUMNS} FROM {TABLE} {where} ORDER BY id LIMIT %s", (*params, limit)
            ).fetchall()
        return [_item_of(row) for row in rows]

    def count(self, status: str | None = None) -> int:
        where, params = self._status_filter(status)
        with self._autocommit() as db:
            row = db.execute(f"SELECT COUNT(*) AS n FROM {TABLE} {where}", params).fetchone()
        return int(row["n"]) if row is not None else 0

    def _status_filter(self, status: str | None) -> tuple[str, tuple[str, ...]]:
        """The WHERE clause for one state (checked), after bringing expired leases up to date."""
        if status is not None and status not in STATUSES:
            raise UsageError(f"--status {status!r}: expected one of {', '.join(STATUSES)}")
        self._settle_leases()
        return ("WHERE status = %s", (status,)) if status else ("", ())

    # ------------------------------------------------------------------ internals

    def _settle_leases(self) -> None:
        """Reads show the truth too: settle expired leases first (one indexed statement)."""
        with self._write() as db:
            self._expire_leases(db, _to_ms(self._now()))

    def _expire_leases(self, db: Connection[DictRow], now: datetime) -> None:
        """Items whose worker stopped renewing: back to `pending`, or `failed` after the last attempt."""
        db.execute(
            f"""UPDATE {TABLE} SET
                   status = CASE WHEN attempts >= max_attempts THEN %s ELSE %s END,
                   finished_at = CASE WHEN attempts >= max_attempts THEN %s::timestamptz ELSE NULL END,
                   error = {EXPIRED_ERROR},
                   lease_expires_at = NULL
               WHERE id IN (SELECT id FROM {TABLE} WHERE status = %s AND lease_expires_at < %s
                            ORDER BY id FOR UPDATE SKIP LOCKED)""",
            (FAILED, PENDING, now, RUNNING, now),
        )

    def _locked_item(self, db: Connection[DictRow], item_id: int) -> QueueItem:
        row = db.execute(f"SELECT {ITEM_COLUMNS} FROM {TABLE} WHERE id = %s FOR UPDATE", (item_id,)).fetchone()
        return _item_of(row, item_id)

    def _set(self, db: Connection[DictRow], item_id: int, columns: transitions.Columns) -> QueueItem:
        assignments, params = _assignments(columns)
        row = db.execute(
            f"UPDATE {TABLE} SET {assignments} WHERE id = %s RETURNING {ITEM_COLUMNS}", (*params, item_id)
        ).fetchone()
        return _item_of(row, item_id)

    def _stamp(self) -> datetime:
        return _to_ms(self._now())

    def _connection(self) -> Connection[DictRow]:
        """The store's connection, opened again (with the usual retries) if the server dropped it."""
        if self._db.closed or self._db.broken:
            self._db = connect(self._url)
        return self._db

    @contextmanager
    def _autocommit(self) -> Iterator[Connection[DictRow]]:
        """The connection outside a transaction: each statement commits on its own (reads, and
        the changes that fit in one statement: no BEGIN and COMMIT round trips)."""
        with translated(self._url):
            yield self._connection()

    @contextmanager
    def _write(self) -> Iterator[Connection[DictRow]]:
        with translated(self._url):
            db = self._connection()
            with db.transaction():
                yield db


def _item_of(row: dict[str, Any] | None, item_id: int | None = None) -> QueueItem:
    """A row as the SQLite queue gives it: times as `clock.utc_iso` text, JSON as text."""
    if row is None:
        raise ItemNotFound(f"no queue item {item_id} (see 'bassi queue list')")
    return QueueItem.from_row(
        {column: clock.utc_iso(value) if isinstance(value, datetime) else value for column, value in row.items()}
    )


def _to_ms(moment: datetime) -> datetime:
    """`moment` to the millisecond, like the SQLite queue's text times: what is stored is what is shown."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _later(now: datetime, seconds: float) -> datetime:
    return _to_ms(now + timedelta(seconds=seconds))


def _assignments(columns: transitions.Columns) -> tuple[str, tuple[Any, ...]]:
    """`a = %s, b = %s` and the values, for the columns of a transition (their names are constants)."""
    return ", ".join(f"{name} = %s" for name in columns), tuple(columns.values())
