"""Queue throughput and listing speed.

Run: python benchmarks/bench_queue.py [--items 4000] [--pg-url URL | --no-postgres]
Prints claim+complete per second with 1, 4 and 16 worker processes on the SQLite backend and on
the PostgreSQL backend (the storage layer alone: each process opens its store, then all start
together and claim and complete until the queue is empty; the rate is measured from the first
claim to the last completion, so process start-up is left out), and the median wall time of
`bassi queue list` as a whole process over 100,000 items (SQLite).

PostgreSQL: a temporary server of its own (Debian `postgresql`, started as the tests start
theirs: tests/pgprocess.py), or the database of `--pg-url`, whose queue table is EMPTIED before
each run: give it a throw-away database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bassi_ci import clock  # noqa: E402  (after the path: benchmarks run from a checkout)
from bassi_ci.queue.model import NewItem  # noqa: E402
from bassi_ci.queue.sqlite import SqliteQueueStore  # noqa: E402
from bassi_ci.queue.store import QueueStore, open_store  # noqa: E402
from bassi_ci.runs import history  # noqa: E402

WORKER_COUNTS = (1, 4, 16)
LIST_ITEMS = 100_000
LIST_RUNS = 5


def open_queue(queue: str) -> QueueStore:
    """A `postgresql://` URL is the PostgreSQL queue, anything else a SQLite file."""
    if queue.startswith(("postgresql://", "postgres://")):
        return open_store(url=queue)
    return SqliteQueueStore(Path(queue))


def worker(queue: str, out: Path) -> None:
    """One worker process: once every worker is ready (the `go` file beside OUT), claim and
    complete until nothing is pending; write its timings."""
    store = open_queue(queue)
    name = f"bench-{os.getpid()}"
    out.with_suffix(".ready").touch()
    while not (out.parent / "go").exists():
        time.sleep(0.005)
    count, first, last = 0, None, time.perf_counter()
    while (item := store.claim(name, 60)) is not None:
        first = first if first is not None else time.perf_counter()
        store.complete(item.id, name, {"status": "success"})
        count += 1
        last = time.perf_counter()
    store.close()
    out.write_text(json.dumps({"count": count, "first": first, "last": last}))


def throughput(queue: str, workers: int, items: int, root: Path) -> float:
    """Items per second that `workers` processes claim and complete together from `queue` (filled first)."""
    store = open_queue(queue)
    for n in range(items):
        store.add(NewItem(f"item {n}", f"prompt {n}"))
    store.close()
    folder = root / f"run-{workers}-{time.monotonic_ns()}"
    folder.mkdir()
    outs = [folder / f"worker-{n}.json" for n in range(workers)]
    processes = [subprocess.Popen([sys.executable, __file__, "--worker", queue, str(out)]) for out in outs]
    while not all(out.with_suffix(".ready").exists() for out in outs):
        if any(process.poll() is not None for process in processes):
            raise SystemExit("a benchmark worker ended before it was ready (its error is above)")
        time.sleep(0.01)
    (folder / "go").touch()
    for process in processes:
        process.wait()
    timings = [json.loads(out.read_text()) for out in outs]
    done = sum(t["count"] for t in timings)
    assert done == items, f"{done} of {items} items completed"
    span: float = max(t["last"] for t in timings) - min(t["first"] for t in timings if t["first"] is not None)
    return items / span


@contextlib.contextmanager
def postgres_queue(pg_url: str | None) -> Iterator[str | None]:
    """The PostgreSQL database to measure: `--pg-url`, else a temporary server's (None, with the
    reason printed, when PostgreSQL is not installed)."""
    if pg_url is not None:
        yield pg_url
        return
    from tests.pgprocess import missing, temporary_server

    absent = missing()
    if absent:
        print(f"PostgreSQL: not measured (not installed: {', '.join(absent)}; or give --pg-url)")
        yield None
        return
    with temporary_server() as server:
        yield server.url


def empty_postgres_queue(url: str) -> None:
    """The queue's table made empty for the next run (created first if needed)."""
    open_queue(url).close()
    from bassi_ci.queue.pg_connection import connect
    from bassi_ci.queue.pg_schema import ITEMS_TABLE

    with connect(url) as db:
        db.execute(f"TRUNCATE {ITEMS_TABLE} RESTART IDENTITY")


def print_rate(backend: str, workers: int, rate: float) -> None:
    print(f"claim+complete, {backend}, {workers} worker{'s' if workers > 1 else ''}: {rate:,.0f} items/s", flush=True)


def sqlite_throughputs(items: int, root: Path) -> None:
    for workers in WORKER_COUNTS:
        print_rate("SQLite", workers, throughput(str(root / f"throughput-{workers}.db"), workers, items, root))


def postgres_throughputs(pg_url: str | None, items: int, root: Path) -> None:
    with postgres_queue(pg_url) as url:
        if url is None:
            return
        for workers in WORKER_COUNTS:
            empty_postgres_queue(url)
            print_rate("PostgreSQL", workers, throughput(url, workers, items, root))


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
    env.pop("BASSI_QUEUE_URL", None)  # the listing measured is this file's, never a shared queue
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
    parser.add_argument("--pg-url", help="a throw-away PostgreSQL database to measure (its queue is emptied)")
    parser.add_argument("--no-postgres", action="store_true", help="measure the SQLite backend only")
    parser.add_argument("--worker", nargs=2, metavar=("QUEUE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        sqlite_throughputs(args.items, root)
        if not args.no_postgres:
            postgres_throughputs(args.pg_url, args.items, root)
        home = root / "home"
        home.mkdir()
        fill_fast(home / "state.db", LIST_ITEMS)
        print(f"queue list, {LIST_ITEMS:,} items (table): {list_time(home):.2f} s")
        print(f"queue list --json, {LIST_ITEMS:,} items: {list_time(home, '--json'):.2f} s")
        recent = list_time(home, "--status", "pending", "-n", "50")
        print(f"queue list --status pending -n 50, {LIST_ITEMS:,} items: {recent:.2f} s")


if __name__ == "__main__":
    main()
