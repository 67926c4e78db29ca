"""How runs look in `bassi history` and `bassi schedule logs`, for people and as JSON."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime
from typing import Any

from bassi_ci.home import state_db_path
from bassi_ci.runs.ci import format_duration
from bassi_ci.runs.history import RunRecord, recent_runs

RESULT_WIDTH = 70


def load_runs(task_id: str | None, limit: int, task_key: str | None = None) -> list[RunRecord]:
    """Newest first; no database yet means no runs (and nothing is created). With `task_key`
    only the runs of that task file (see tasks.lookup.history_key)."""
    db = state_db_path()
    return recent_runs(db, task_id, limit, task_key) if db.exists() else []


def first_line(text: str | None, width: int = RESULT_WIDTH) -> str:
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def run_summary(record: RunRecord) -> str:
    """The result's first line, or the error for runs without a result."""
    return first_line(record.result) or first_line(record.error_message)


def log_entry(record: RunRecord) -> dict[str, Any]:
    """One run as `schedule logs --json` prints it."""
    return {
        "run_id": record.run_id,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "status": record.status,
        "exit_code": record.exit_code,
        "duration_ms": record.duration_ms,
        "summary": run_summary(record),
        "log_path": record.log_path,
    }


def log_rows(records: list[RunRecord]) -> list[list[str]]:
    return [[_time(r.started_at), r.status, _duration(r.duration_ms), run_summary(r)] for r in records]


def history_rows(records: list[RunRecord]) -> list[list[str]]:
    return [
        [
            _time(r.started_at),
            r.task_id,
            r.status,
            _duration(r.duration_ms),
            str(r.num_turns),
            f"${r.total_cost_usd:.4f}",
            run_summary(r),
        ]
        for r in records
    ]


def _time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _duration(ms: int | None) -> str:
    return "-" if ms is None else format_duration(ms)


def task_ids_with_runs() -> list[str]:
    """Every task id the history has runs of, read-only (nothing is created or recovered):
    for shell completion and did-you-mean, where a missing or unreadable history means none."""
    db = state_db_path()
    if not db.exists():
        return []
    try:
        with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=1)) as conn:
            return [row[0] for row in conn.execute("SELECT DISTINCT task_id FROM runs ORDER BY task_id")]
    except sqlite3.Error:
        return []
