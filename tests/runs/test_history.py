"""The run history: migrations, stats, and runs whose process died marked `lost`."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from bassi_ci.runs import history
from bassi_ci.runs.history import RunEnd, read_task_stats, recent_runs, start_run

USAGE = {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def finish(db: Path, run_id: str, status: str, code: int, started: str, finished: str) -> None:
    history.finish_run(
        db,
        run_id,
        RunEnd(
            finished_at=finished,
            status=status,
            exit_code=code,
            model="m",
            num_turns=2,
            usage=USAGE,
            total_cost_usd=0.01,
            duration_ms=1500,
            result=f"{status} text\nmore",
            error_type=None,
            error_message=None,
        ),
    )


def test_migrations_run_once_and_wal_is_on(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with history.connect(db):
        pass
    with history.connect(db) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM migrations")]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert names == [m.__name__ for m in history.MIGRATIONS] == ["m001_initial", "m002_task_key", "m003_queue_items"]
    assert mode == "wal"


def test_stats_and_recent_runs(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    for number, (status, code) in enumerate([("success", 0), ("failed", 1), ("success", 0), ("timeout", 4)]):
        started = f"2027-03-1{number}T09:00:00.000+00:00"
        start_run(db, run_id=f"r{number}", task_id="weekly", started_at=started, model="m", log_path=None)
        finish(db, f"r{number}", status, code, started, started.replace("09:00:00", "09:00:01"))
    start_run(db, run_id="other", task_id="daily", started_at="2027-03-01T09:00:00.000+00:00", model="m", log_path=None)
    stats = read_task_stats(db)
    weekly = stats[("weekly", "")]
    assert (weekly.runs, weekly.successes, weekly.failures) == (4, 2, 2)
    assert weekly.last_status == "timeout" and weekly.last_started_at == "2027-03-13T09:00:00.000+00:00"
    assert weekly.last_duration_ms == 1500 and weekly.success_rate == 0.5
    assert stats[("daily", "")].runs == 1 and stats[("daily", "")].last_status == "running"  # this process is alive
    runs = recent_runs(db, "weekly", 2)
    assert [r.run_id for r in runs] == ["r3", "r2"]
    assert [r.run_id for r in recent_runs(db, None, 10)][-1] == "other"


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bassi_ci.runs.history import start_run
    start_run(Path(sys.argv[1]), run_id="doomed", task_id="weekly",
              started_at="2027-03-10T09:00:00.000+00:00", model="m", log_path=None)
    print("started", flush=True)
    time.sleep(60)
    """
)


def test_row_of_a_killed_process_becomes_lost(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "started\n"
    assert recent_runs(db, "weekly", 1)[0].status == "running"
    child.send_signal(signal.SIGKILL)
    child.wait()
    run = recent_runs(db, "weekly", 1)[0]
    assert run.status == "lost" and run.finished_at is not None
    assert "ended without recording a result" in (run.error_message or "")
    assert read_task_stats(db)[("weekly", "")].failures == 1


def test_reused_pid_is_not_mistaken_for_the_run(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    start_run(db, run_id="mine", task_id="t", started_at="2027-03-10T09:00:00.000+00:00", model="m", log_path=None)
    with sqlite3.connect(db) as conn:  # same pid, but a different process start time
        conn.execute("UPDATE runs SET pid_started = '1' WHERE run_id = 'mine'")
    assert recent_runs(db, "t", 1)[0].status == "lost"
