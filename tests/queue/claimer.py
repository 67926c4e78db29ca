"""A worker process on the storage layer alone: `python -m tests.queue.claimer QUEUE OUT [LEASE_S]`
claims and completes items of QUEUE until none is pending, writing each claimed id to OUT.

QUEUE is a SQLite database's path, or a `postgresql://` URL (the shared queue of many machines).
Used by the exactly-once tests (4 of these at once, on each backend)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.queue.helpers import open_queue


def main(queue: str, out: str, lease_s: str = "60") -> int:
    store = open_queue(queue)
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
