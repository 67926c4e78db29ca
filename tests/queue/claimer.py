"""A worker process on the storage layer alone: `python -m tests.queue.claimer DB OUT [LEASE_S]` claims
and completes items of the queue in DB until none is pending, writing each claimed id to OUT.

Used by the exactly-once test (4 of these at once) and by benchmarks/bench_queue.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bassi_ci.queue.sqlite import SqliteQueueStore


def main(db: str, out: str, lease_s: str = "60") -> int:
    store = SqliteQueueStore(Path(db))
    worker = f"claimer-{os.getpid()}"
    claimed = []
    try:
        while (item := store.claim(worker, float(lease_s))) is not None:
            claimed.append(item.id)
            store.complete(item.id, worker, {"by": worker})
    finally:
        store.close()
    Path(out).write_text("".join(f"{item_id}\n" for item_id in claimed), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
