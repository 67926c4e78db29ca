"""Run history in SQLite (BASSI_HOME/state.db): one row per run, whatever its end.

A run is inserted as `running` when it starts (with its pid and the start time of
that process) and updated when it ends. A row still `running` whose process is gone
(killed, machine rebooted) is marked `lost` by the next bassi command that opens the
history, so nothing stays "running" forever.

Only the standard library is imported here: `schedule list` reads this on every call.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bassi_ci import clock
from bassi_ci.errors import StoreError
from bassi_ci.runs.stats import StatsKey, TaskStats

BUSY_TIMEOUT_S = 30.0
RUNNING = "running"
MAX_ID_PARAMETERS = 500
LOST = "lost"

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(func: Migration) -> Migration:
    """Register a schema change; they run once each, in the order they are defined."""
    MIGRATIONS.append(func)
    return func


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            task_id TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            exit_code INTEGER,
            model TEXT,
            num_turns INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_creation_input_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_input_tokens INTEGER NOT NULL DEFAULT 0,
            total_cost_usd REAL NOT NULL DEFAULT 0,
            duration_ms INTEGER,
            result TEXT,
            error_type TEXT,
            error_message TEXT,
            log_path TEXT,
            pid INTEGER,
            pid_started TEXT,
            host TEXT
        )
        """
    )
    db.execute("CREATE INDEX runs_task_started ON runs (task_id, started_at)")
    db.execute("CREATE INDEX runs_status ON runs (status)")


@migration
def m002_task_key(db: sqlite3.Connection) -> None:
    """Runs are kept per task file, not per id alone: the bundled example and a personal task
    that share an id are different tasks. NULL: an ad-hoc prompt, or a run from before this."""
    db.execute("ALTER TABLE runs ADD COLUMN task_key TEXT")
    db.execute("CREATE INDEX runs_task_key ON runs (task_id, task_key, started_at)")


@migration
def m003_queue_items(db: sqlite3.Connection) -> None:
    """The task queue (bassi_ci/queue/sqlite.py) lives in this file too, so its tables are migrated
    here: one database, one ordered list of migrations. Times are `clock.utc_iso` text (they sort);
    `vars` and `result` are JSON; `worker` is the last worker that claimed the item, and
    `lease_expires_at` is set only while it is `running`."""
    db.execute(
        """
        CREATE TABLE queue_items (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            prompt TEXT,
            task TEXT,
            priority INTEGER NOT NULL DEFAULT 0,
            vars TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            max_attempts INTEGER NOT NULL,
            worker TEXT,
            lease_expires_at TEXT,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            run_id TEXT,
            result TEXT,
            error TEXT
        )
        """
    )
    # The claim's order (highest priority, then oldest) straight from the index.
    db.execute("CREATE INDEX queue_items_claim ON queue_items (status, priority DESC, id)")


@dataclass(frozen=True)
class RunRecord:
    """One row of the history, as `bassi history --json` prints it."""

    run_id: str
    task_id: str
    started_at: str
    finished_at: str | None
    status: str
    exit_code: int | None
    model: str | None
    num_turns: int
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    total_cost_usd: float
    duration_ms: int | None
    result: str | None
    error_type: str | None
    error_message: str | None
    log_path: str | None
    pid: int | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_RECORD_COLUMNS = ", ".join(f.name for f in fields(RunRecord))


@dataclass(frozen=True)
class RunEnd:
    """What is known when a run ends; written over the `running` row."""

    finished_at: str
    status: str
    exit_code: int
    model: str
    num_turns: int
    usage: dict[str, int]
    total_cost_usd: float
    duration_ms: int
    result: str
    error_type: str | None
    error_message: str | None


class HistoryError(StoreError):
    """The history database cannot be opened, read or written (a corrupt file, an unusable BASSI_HOME)."""


class RunIdTaken(HistoryError):
    """Another run of this history already has the run id: both started in the same second and
    drew the same random suffix (one in 16.7 million, but workers draining a queue start a hundred
    runs a second). The caller draws another id; see executor._start_row."""


# --------------------------------------------------------------------------- connection


@contextmanager
def connect(db_path: Path, what: str = "the run history") -> Iterator[sqlite3.Connection]:
    """An autocommit connection with WAL, a busy timeout and every migration applied; `what` names
    the user of the file in errors (the queue shares it)."""
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as db:
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            _migrate(db)
            yield db
    except (sqlite3.Error, OSError) as problem:
        reason = problem.strerror if isinstance(problem, OSError) and problem.strerror else problem
        raise HistoryError(f"cannot use {what} {db_path}: {reason}") from problem


def _migrate(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in db.execute("SELECT name FROM migrations")}
    if all(m.__name__ in done for m in MIGRATIONS):
        return
    with transaction(db):
        # Read again under the write lock: another process may have migrated meanwhile.
        done = {row[0] for row in db.execute("SELECT name FROM migrations")}
        for step in MIGRATIONS:
            if step.__name__ not in done:
                step(db)
                db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (step.__name__, _now()))


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# --------------------------------------------------------------------------- writing


def start_run(
    db_path: Path,
    *,
    run_id: str,
    task_id: str,
    started_at: str,
    model: str,
    log_path: str | None,
    task_key: str | None = None,
) -> None:
    """Insert the `running` row of a run that starts now in this process; RunIdTaken when
    another run has `run_id` (the row is what makes an id this run's: see RunIdTaken)."""
    pid = os.getpid()
    with connect(db_path) as db:
        recover_lost_runs(db)
        inserted = db.execute(
            "INSERT INTO runs (run_id, task_id, task_key, started_at, status, model, log_path, pid, pid_started, host)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
            (
                run_id,
                task_id,
                task_key,
                started_at,
                RUNNING,
                model,
                log_path,
                pid,
                process_start_marker(pid),
                socket.gethostname(),
            ),
        ).rowcount
    if not inserted:
        raise RunIdTaken(f"cannot start run {run_id} in the run history {db_path}: another run has that id")


def finish_run(db_path: Path, run_id: str, end: RunEnd) -> None:
    with connect(db_path) as db:
        db.execute(
            """UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, model = ?, num_turns = ?,
               input_tokens = ?, output_tokens = ?, cache_creation_input_tokens = ?,
               cache_read_input_tokens = ?, total_cost_usd = ?, duration_ms = ?, result = ?,
               error_type = ?, error_message = ? WHERE run_id = ?""",
            (
                end.finished_at,
                end.status,
                end.exit_code,
                end.model,
                end.num_turns,
                end.usage.get("input_tokens", 0),
                end.usage.get("output_tokens", 0),
                end.usage.get("cache_creation_input_tokens", 0),
                end.usage.get("cache_read_input_tokens", 0),
                end.total_cost_usd,
                end.duration_ms,
                end.result,
                end.error_type,
                end.error_message,
                run_id,
            ),
        )


def recover_lost_runs(db: sqlite3.Connection) -> int:
    """Mark `lost` every running row of this host whose process is gone; return how many."""
    host = socket.gethostname()
    rows = db.execute(
        "SELECT run_id, pid, pid_started, started_at FROM runs WHERE status = ? AND host = ?", (RUNNING, host)
    ).fetchall()
    lost = [row for row in rows if not process_alive(row["pid"], row["pid_started"])]
    if not lost:
        return 0
    finished = _now()
    with transaction(db):
        for row in lost:
            db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, duration_ms = ?, error_type = ?, error_message = ?"
                " WHERE run_id = ? AND status = ?",
                (
                    LOST,
                    finished,
                    _duration_ms(row["started_at"], finished),
                    "Lost",
                    f"the process (pid {row['pid']}) ended without recording a result",
                    row["run_id"],
                    RUNNING,
                ),
            )
    return len(lost)


# --------------------------------------------------------------------------- reading


def read_task_stats(db_path: Path) -> dict[StatsKey, TaskStats]:
    """Run counts and the latest run per task file (lost runs count as failures)."""
    with connect(db_path) as db:
        recover_lost_runs(db)
        # One pass: the totals of each task's partition, read off its latest row.
        rows = db.execute(
            """SELECT task_id, task_key, runs, successes, failures, last_started, status, duration_ms
               FROM (SELECT task_id, COALESCE(task_key, '') AS task_key, status, duration_ms,
                            COUNT(*) OVER task AS runs,
                            SUM(status = 'success') OVER task AS successes,
                            SUM(status NOT IN ('success', 'running')) OVER task AS failures,
                            MAX(started_at) OVER task AS last_started,
                            ROW_NUMBER() OVER (
                                PARTITION BY task_id, COALESCE(task_key, '') ORDER BY started_at DESC, id DESC
                            ) AS newest
                     FROM runs
                     WINDOW task AS (PARTITION BY task_id, COALESCE(task_key, '')))
               WHERE newest = 1
               ORDER BY task_id, task_key"""
        ).fetchall()
        stats = {
            (row["task_id"], row["task_key"]): TaskStats(
                runs=row["runs"],
                successes=row["successes"] or 0,
                failures=row["failures"] or 0,
                last_started_at=row["last_started"],
                last_status=row["status"],
                last_duration_ms=row["duration_ms"],
            )
            for row in rows
        }
    return stats


def recent_runs(db_path: Path, task_id: str | None, limit: int, task_key: str | None = None) -> list[RunRecord]:
    """The newest `limit` runs, of one task or of all, newest first; with `task_key`, only the
    runs of that task file (and unkeyed runs from before keys)."""
    where, params = _task_filter(task_id, task_key)
    with connect(db_path) as db:
        recover_lost_runs(db)
        rows = db.execute(
            f"SELECT {_RECORD_COLUMNS} FROM runs {where} ORDER BY started_at DESC, id DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
    return [RunRecord(**dict(row)) for row in rows]


def run_starts_since(db_path: Path, task_ids: Iterable[str], since: datetime) -> dict[StatsKey, list[datetime]]:
    """When the runs of these tasks started, per task file (key "" for runs from before keys),
    oldest first, for runs started at or after `since`: one query for any number of tasks, so
    `schedule list` can look for missed runs without a query per task."""
    ids = sorted(set(task_ids))
    if not ids or not db_path.exists():
        return {}
    # Rows keep UTC text that sorts as time; the margin keeps a row written with another
    # offset in range, and the exact cut is made on parsed times below.
    floor = clock.utc_iso(since - timedelta(days=1))
    # Past a few hundred ids the filter is made below: SQLite caps the parameters of a query.
    by_id = len(ids) <= MAX_ID_PARAMETERS
    where = f"task_id IN ({', '.join('?' * len(ids))}) AND " if by_id else ""
    with connect(db_path) as db:
        rows = db.execute(
            "SELECT task_id, COALESCE(task_key, '') AS task_key, started_at FROM runs"
            f" WHERE {where}started_at >= ? ORDER BY started_at",
            [*(ids if by_id else []), floor],
        ).fetchall()
    wanted = set(ids)
    starts: dict[StatsKey, list[datetime]] = {}
    for row in rows:
        started = datetime.fromisoformat(row["started_at"])
        if started >= since and row["task_id"] in wanted:
            starts.setdefault((row["task_id"], row["task_key"]), []).append(started)
    return starts


def last_success_started(db_path: Path, task_id: str, task_key: str | None = None) -> datetime | None:
    """When the latest successful run of a task started (for `{last_run}`)."""
    if not db_path.exists():
        return None
    where, params = _task_filter(task_id, task_key)
    with connect(db_path) as db:
        row = db.execute(f"SELECT MAX(started_at) FROM runs {where} AND status = 'success'", params).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def _task_filter(task_id: str | None, task_key: str | None) -> tuple[str, list[str]]:
    if not task_id:
        return "WHERE 1", []
    if task_key is None:
        return "WHERE task_id = ?", [task_id]
    return "WHERE task_id = ? AND (task_key = ? OR task_key IS NULL)", [task_id, task_key]


# --------------------------------------------------------------------------- processes


def process_start_marker(pid: int) -> str | None:
    """What tells this process apart from a later one that reuses its pid (Linux: start ticks)."""
    stat = _proc_stat(pid)
    return stat[19] if stat is not None else None


def process_alive(pid: int | None, marker: str | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _is_zombie(pid):
        return False
    return marker is None or process_start_marker(pid) in (None, marker)


def _is_zombie(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] == "Z"


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), or None if unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def _now() -> str:
    return clock.utc_iso(clock.now())


def _duration_ms(started_at: str, finished_at: str) -> int:
    delta = datetime.fromisoformat(finished_at) - datetime.fromisoformat(started_at)
    return max(int(delta.total_seconds() * 1000), 0)
