"""Queue throughput and listing speed.

Run: python benchmarks/bench_queue.py [--items 4000]
Prints claim+complete per second on the SQLite backend with 1 and 4 worker processes (the storage
layer alone: each process claims and completes until the queue is empty; the rate is measured
from the first claim to the last completion, so process start-up is left out), and the median
wall time of `bassi queue list` as a whole process over 100,000 items.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bassi_ci import clock  # noqa: E402  (after the path: benchmarks run from a checkout)
from bassi_ci.queue.model import NewItem  # noqa: E402
from bassi_ci.queue.sqlite import SqliteQueueStore  # noqa: E402
from bassi_ci.runs import history  # noqa: E402

LIST_ITEMS = 100_000
LIST_RUNS = 5


def worker(db: Path, out: Path) -> None:
    """One worker process: claim and complete until nothing is pending; write its timings."""
    store = SqliteQueueStore(db)
    name = f"bench-{os.getpid()}"
    count, first, last = 0, None, time.perf_counter()
    while (item := store.claim(name, 60)) is not None:
        first = first if first is not None else time.perf_counter()
        store.complete(item.id, name, {"status": "success"})
        count += 1
        last = time.perf_counter()
    store.close()
    out.write_text(json.dumps({"count": count, "first": first, "last": last}))


def throughput(workers: int, items: int, root: Path) -> float:
    db = root / f"throughput-{workers}.db"
    store = SqliteQueueStore(db)
    for n in range(items):
        store.add(NewItem(f"item {n}", f"prompt {n}"))
    store.close()
    outs = [root / f"worker-{workers}-{n}.json" for n in range(workers)]
    processes = [subprocess.Popen([sys.executable, __file__, "--worker", str(db), str(out)]) for out in outs]
    for process in processes:
        process.wait()
    timings = [json.loads(out.read_text()) for out in outs]
    done = sum(t["count"] for t in timings)
    assert done == items, f"{done} of {items} items completed"
    span = max(t["last"] for t in timings) - min(t["first"] for t in timings if t["first"] is not None)
    return items / span


def fill_fast(db: Path, count: int) -> None:
    """100,000 items in one transaction (adding them one by one through the store would take minutes)."""
    SqliteQueueStore(db).close()  # creates the tables
    stamp = clock.utc_iso(clock.now())
    with history.connect(db) as conn, history.transaction(conn):
        conn.executemany(
            "INSERT INTO queue_items (name, prompt, priority, vars, status, max_attempts, created_at)"
            " VALUES (?, ?, ?, '{}', ?, 3, ?)",
            ((f"item {n}", f"prompt {n}", n % 5, ("pending", "done", "failed")[n % 3], stamp) for n in range(count)),
        )


def list_time(home: Path, *args: str) -> float:
    env = {**os.environ, "BASSI_HOME": str(home), "HOME": str(home), "PYTHONPATH": str(ROOT)}
    samples = []
    for _ in range(LIST_RUNS):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bassi_ci", "queue", "list", *args], env=env, check=True, stdout=subprocess.DEVNULL
        )
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=4000, help="items per throughput run")
    parser.add_argument("--worker", nargs=2, metavar=("DB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), Path(args.worker[1]))
        return
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for workers in (1, 4):
            rate = throughput(workers, args.items, root)
            print(f"claim+complete, {workers} worker{'s' if workers > 1 else ''}: {rate:,.0f} items/s")
        home = root / "home"
        home.mkdir()
        fill_fast(home / "state.db", LIST_ITEMS)
        print(f"queue list, {LIST_ITEMS:,} items (table): {list_time(home):.2f} s")
        print(f"queue list --json, {LIST_ITEMS:,} items: {list_time(home, '--json'):.2f} s")
        recent = list_time(home, "--status", "pending", "-n", "50")
        print(f"queue list --status pending -n 50, {LIST_ITEMS:,} items: {recent:.2f} s")


if __name__ == "__main__":
    main()
