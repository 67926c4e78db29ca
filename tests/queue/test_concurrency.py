"""Many workers, one queue: every item runs exactly once, and a worker that dies gives its item back.

- On the storage layer: 4 processes claim and complete 2,000 items (fast).
- End to end (slow): 4 `bassi execute --next --drain --ci` processes drain 2,000 items against the
  fake Messages API; then a worker killed with SIGKILL mid-item, whose item another worker finishes
  after the lease, and one stopped with SIGTERM, which gives its item back at once.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.queue.model import NewItem
from bassi_ci.queue.sqlite import SqliteQueueStore
from tests.cli import ROOT, bassi_process
from tests.fakeapi import FakeMessagesAPI, slow, text

WORKERS = 4
ITEMS = 2_000


def fill(db: Path, count: int, prompt: str = "item {n}") -> list[int]:
    store = SqliteQueueStore(db)
    try:
        return [store.add(NewItem(f"item {n}", prompt.format(n=n))).id for n in range(count)]
    finally:
        store.close()


def items(db: Path) -> list[dict[str, Any]]:
    store = SqliteQueueStore(db)
    try:
        return [item.as_dict() for item in store.list()]
    finally:
        store.close()


def start_workers(count: int, *args: str, cwd: Path) -> list[subprocess.Popen[str]]:
    return [bassi_process(*args, cwd=cwd) for _ in range(count)]


def wait_all(processes: list[subprocess.Popen[str]], timeout: float) -> list[tuple[int, str, str]]:
    ended = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        ended.append((process.returncode, out, err))
    return ended


def failing_workers(ended: list[tuple[int, str, str]]) -> str:
    """Why workers did not exit 0, whole: a string (pytest shortens a list in an assert message),
    with each one's stderr minus the routine per-item lines, and its summary's counts."""
    reports = []
    for number, (code, out, err) in enumerate(ended):
        if code == 0:
            continue
        routine = ("queue item ", "  ", "ok")
        unusual = [line for line in err.splitlines() if not line.startswith(routine)]
        reports.append(
            f"worker {number} exited {code}; its summary: {summary_counts(out)}\n"
            f"its stderr without the per-item lines:\n"
            + "\n".join(unusual)
            + "\nits last stderr lines:\n"
            + "\n".join(err.splitlines()[-6:])
        )
    return "\n\n".join(reports)


def summary_counts(out: str) -> str:
    """The drain summary's counts and each failed item's error (what stderr says around it is cut)."""
    try:
        summary = json.loads(out)
    except ValueError:
        return f"not JSON: {out[-500:]!r}"
    counts = ", ".join(
        f"{key}={summary.get(key)}" for key in ("status", "exit_code", "items_run", "succeeded", "failed")
    )
    failed = [f"item {line['id']}: {line['status']}: {line['error']}" for line in summary["items"] if line["exit_code"]]
    return "\n".join([counts, *failed])


def test_storage_layer_hands_each_item_to_exactly_one_of_4_processes(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    ids = fill(db, ITEMS)
    outs = [tmp_path / f"claimed-{n}.txt" for n in range(WORKERS)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen([sys.executable, "-m", "tests.queue.claimer", str(db), str(out)], env=env) for out in outs
    ]
    assert [process.wait(timeout=120) for process in processes] == [0] * WORKERS
    claims = [int(line) for out in outs for line in out.read_text().split()]
    assert Counter(claims).most_common(1)[0][1] == 1, "an item was claimed twice"
    assert sorted(claims) == ids
    assert sum(1 for out in outs if out.read_text()) > 1, "one process took everything: no contention tested"
    assert {(item["status"], item["attempts"]) for item in items(db)} == {("done", 1)}


@pytest.mark.slow
def test_4_bassi_workers_drain_2000_items_exactly_once(
    fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path
) -> None:
    db = isolated_home / "state.db"
    ids = fill(db, ITEMS, prompt="unique prompt {n}")
    fake_api.enqueue(*(text("ok") for _ in range(ITEMS)))
    started = time.monotonic()
    workers = start_workers(WORKERS, "execute", "--next", "--drain", "--ci", cwd=tmp_path)
    ended = wait_all(workers, timeout=600)
    elapsed = time.monotonic() - started
    assert [code for code, _, _ in ended] == [0] * WORKERS, failing_workers(ended)
    summaries = [json.loads(out) for _, out, _ in ended]
    ran = [line["id"] for summary in summaries for line in summary["items"]]
    assert Counter(ran).most_common(1)[0][1] == 1 and sorted(ran) == ids
    assert all(summary["items_run"] > 0 for summary in summaries), "a worker got no item"
    prompts = Counter(request.body["messages"][0]["content"][0]["text"] for request in fake_api.requests)
    assert prompts == Counter(f"unique prompt {n}" for n in range(ITEMS)), "an item reached the API twice or never"
    assert {(item["status"], item["attempts"]) for item in items(db)} == {("done", 1)}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall() == [("success", ITEMS)]
    print(f"\n4 workers drained {ITEMS} items in {elapsed:.1f} s ({ITEMS / elapsed:.0f} items/s)")


def wait_for_status(db: Path, item_id: int, status: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next(item for item in items(db) if item["id"] == item_id)
        if found["status"] == status:
            return found
        time.sleep(0.1)
    raise AssertionError(f"item {item_id} did not become {status} within {timeout} s: {found}")


@pytest.mark.slow
def test_item_of_a_worker_killed_mid_run_is_retried_after_its_lease(
    fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path
) -> None:
    db = isolated_home / "state.db"
    (item_id,) = fill(db, 1)
    fake_api.enqueue(slow(30, text("never seen")), text("finished by the second worker"))
    doomed = bassi_process("execute", "--next", "--ci", "--lease", "2", cwd=tmp_path)
    running = wait_for_status(db, item_id, "running", timeout=30)
    while not fake_api.requests:  # mid-item: its API call is under way
        time.sleep(0.05)
    doomed.send_signal(signal.SIGKILL)
    doomed.communicate(timeout=10)
    assert doomed.returncode == -signal.SIGKILL
    back = wait_for_status(db, item_id, "pending", timeout=10)  # once its lease ran out
    assert back["attempts"] == 1
    assert f"the lease of worker {running['worker']} expired on attempt 1 of 3" in back["error"]
    code, out, err = wait_all(start_workers(1, "execute", "--next", "--ci", cwd=tmp_path), timeout=120)[0]
    assert code == 0, err
    finished = next(item for item in items(db) if item["id"] == item_id)
    assert (finished["status"], finished["attempts"]) == ("done", 2)
    assert finished["worker"] != running["worker"]
    assert json.loads(out)["result"] == "finished by the second worker"


@pytest.mark.slow
def test_worker_stopped_with_sigterm_gives_its_item_back(
    fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path
) -> None:
    db = isolated_home / "state.db"
    (item_id,) = fill(db, 1)
    fake_api.enqueue(slow(30, text("never seen")))
    worker = bassi_process("execute", "--next", "--drain", "--ci", cwd=tmp_path)
    wait_for_status(db, item_id, "running", timeout=30)
    while not fake_api.requests:
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 130
    summary = json.loads(out)
    assert (summary["status"], summary["items"][0]["item_status"]) == ("interrupted", "pending")
    back = next(item for item in items(db) if item["id"] == item_id)
    assert (back["status"], back["attempts"], back["error"]) == (
        "pending",
        1,
        "the worker was interrupted (attempt 1 of 3)",
    )
