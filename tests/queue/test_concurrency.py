"""Many workers, one queue, on each backend (SQLite in BASSI_HOME/state.db, and a real PostgreSQL:
tests/pgserver.py): every item runs exactly once, and a worker that dies gives its item back.

- On the storage layer: 4 processes claim and complete 2,000 items (fast).
- End to end (slow): 4 `bassi execute --next --drain --ci` processes drain 2,000 items against the
  fake Messages API; a worker killed with SIGKILL mid-item, whose item another worker finishes
  after the lease; one stopped with SIGTERM, which gives its item back at once.
- PostgreSQL only: two `bassi execute --next` on an empty database, held at the migration lock
  until both wait there (quick: an idle worker loads no SDK).
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from bassi_ci.queue.pg_connection import connect
from bassi_ci.queue.pg_schema import MIGRATION_LOCK_KEY, MIGRATIONS_TABLE
from tests.cli import check_result
from tests.fakeapi import FakeMessagesAPI, slow, text
from tests.pgserver import BACKENDS, requires_postgres
from tests.queue.helpers import (
    check_drain,
    fill,
    items,
    most_claims,
    run_claimers,
    sent_prompts,
    start_workers,
    wait_all,
    wait_for_status,
    workers_report,
)

WORKERS = 4
ITEMS = 2_000


@pytest.fixture(params=BACKENDS)
def queue(request: pytest.FixtureRequest, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The queue every `bassi` this test starts uses: this home's state.db, or an empty PostgreSQL
    database (BASSI_QUEUE_URL). The run history stays in state.db either way."""
    if request.param == "sqlite":
        return str(isolated_home / "state.db")
    url: str = request.getfixturevalue("pg_url")
    monkeypatch.setenv("BASSI_QUEUE_URL", url)
    return url


def run_statuses(home: Path) -> dict[str, int]:
    """How many runs the workers' history (this home's state.db) holds in each status."""
    with sqlite3.connect(home / "state.db") as conn:
        return dict(conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())


def test_storage_layer_hands_each_item_to_exactly_one_of_4_processes(queue: str, tmp_path: Path) -> None:
    ids = fill(queue, ITEMS)
    taken = run_claimers(queue, WORKERS, tmp_path)
    claims = [item_id for mine in taken for item_id in mine]
    assert most_claims(claims) == 1, "an item was claimed twice"
    assert sorted(claims) == ids
    assert sum(1 for mine in taken if mine) > 1, "one process took everything: no contention tested"
    assert {(item["status"], item["attempts"]) for item in items(queue)} == {("done", 1)}


@pytest.mark.slow
def test_4_bassi_workers_drain_2000_items_exactly_once(
    queue: str, fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path
) -> None:
    ids = fill(queue, ITEMS, prompt="unique prompt {n}")
    fake_api.enqueue(*(text("ok") for _ in range(ITEMS)))
    started = time.monotonic()
    ended = wait_all(start_workers(WORKERS, "execute", "--next", "--drain", "--ci", cwd=tmp_path), timeout=600)
    elapsed = time.monotonic() - started
    report = workers_report(ended)  # whole: pytest would shorten a list in the message
    assert [code for code, _, _ in ended] == [0] * WORKERS, report
    summaries = [check_drain(out) for _, out, _ in ended]
    ran = [line["id"] for summary in summaries for line in summary["items"]]
    assert most_claims(ran) == 1 and sorted(ran) == ids, report
    assert all(summary["status"] == "success" and summary["items_run"] > 0 for summary in summaries), report
    assert sent_prompts(fake_api) == {f"unique prompt {n}": 1 for n in range(ITEMS)}, "an item reached the API twice"
    assert {(item["status"], item["attempts"]) for item in items(queue)} == {("done", 1)}
    assert run_statuses(isolated_home) == {"success": ITEMS}
    print(f"\n4 workers drained {ITEMS} items in {elapsed:.1f} s ({ITEMS / elapsed:.0f} items/s)")


def hold_mid_item(queue: str, item_id: int, fake_api: FakeMessagesAPI) -> dict[str, object]:
    """Wait until a worker holds the item and its API call is under way; the item as it was then."""
    running = wait_for_status(queue, item_id, "running", timeout=30)
    deadline = time.monotonic() + 30
    while not fake_api.requests:
        assert time.monotonic() < deadline, "the worker never called the API"
        time.sleep(0.05)
    return running


@pytest.mark.slow
def test_item_of_a_worker_killed_mid_run_is_retried_after_its_lease(
    queue: str, fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path
) -> None:
    (item_id,) = fill(queue, 1)
    fake_api.enqueue(slow(30, text("never seen")), text("finished by the second worker"))
    (doomed,) = start_workers(1, "execute", "--next", "--ci", "--lease", "2", cwd=tmp_path)
    running = hold_mid_item(queue, item_id, fake_api)
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate(timeout=10)
    assert doomed.returncode == -signal.SIGKILL
    back = wait_for_status(queue, item_id, "pending", timeout=10)  # once its lease ran out
    assert back["attempts"] == 1
    assert f"the lease of worker {running['worker']} expired on attempt 1 of 3" in back["error"]
    (ended,) = wait_all(start_workers(1, "execute", "--next", "--ci", cwd=tmp_path), timeout=120)
    assert ended[0] == 0 and check_result(ended[1])["status"] == "success", workers_report([ended])
    finished = wait_for_status(queue, item_id, "done", timeout=0)
    assert finished["attempts"] == 2 and finished["worker"] != running["worker"]
    assert finished["result"]["result"] == "finished by the second worker"
    assert sent_prompts(fake_api) == {"item 0": 2}  # the killed attempt's call, then the retry's
    assert run_statuses(isolated_home)["success"] == 1


@pytest.mark.slow
def test_worker_stopped_with_sigterm_gives_its_item_back(queue: str, fake_api: FakeMessagesAPI, tmp_path: Path) -> None:
    (item_id,) = fill(queue, 1)
    fake_api.enqueue(slow(30, text("never seen")))
    (worker,) = start_workers(1, "execute", "--next", "--drain", "--ci", cwd=tmp_path)
    hold_mid_item(queue, item_id, fake_api)
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == 130, workers_report([(worker.returncode, out, err)])
    summary = check_drain(out)
    assert (summary["status"], summary["items"][0]["item_status"]) == ("interrupted", "pending")
    back = items(queue)[0]
    assert (back["status"], back["attempts"], back["error"]) == (
        "pending",
        1,
        "the worker was interrupted (attempt 1 of 3)",
    )


def advisory_waiters(url: str) -> int:
    """Sessions waiting for an advisory lock (the migration lock is the only one bassi takes)."""
    with connect(url) as db:
        row = db.execute("SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
    return int(row["n"]) if row is not None else 0


@requires_postgres
def test_two_workers_starting_at_once_on_an_empty_database_both_succeed(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Both workers find no tables and queue up for the migration lock, which the test holds until
    both wait there: they really migrate at the same moment, not one after the other."""
    monkeypatch.setenv("BASSI_QUEUE_URL", pg_url)
    with connect(pg_url) as gate, gate.transaction():
        gate.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        workers = start_workers(2, "execute", "--next", "--ci", cwd=tmp_path)
        deadline = time.monotonic() + 60
        while advisory_waiters(pg_url) < 2:
            assert time.monotonic() < deadline, "the two workers never both waited for the migration lock"
            time.sleep(0.05)
    ended = wait_all(workers, timeout=60)
    report = workers_report(ended)
    assert [code for code, _, _ in ended] == [0, 0], report
    assert [check_result(out)["status"] for _, out, _ in ended] == ["idle", "idle"], report
    with connect(pg_url) as db:
        rows = db.execute(f"SELECT version, name FROM {MIGRATIONS_TABLE} ORDER BY version").fetchall()
    assert [(row["version"], row["name"]) for row in rows] == [(1, "queue items")]
