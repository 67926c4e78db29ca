"""The queue's state changes by item, written once for every backend.

Each function is given the item as the backend read it under its lock, checks that the change is
allowed (WrongState otherwise, with the message users see) and returns the columns to set.
A backend only reads the item, writes the columns and reads the result back, in one transaction;
claiming and settling expired leases stay in the backends (how to take one row among many
workers is what differs between them).
"""

from __future__ import annotations

import json
from typing import Any

from bassi_ci.queue.model import CANCELLED, DONE, FAILED, PENDING, RUNNING, QueueItem, WrongState, check_held

Columns = dict[str, Any]  # column name -> new value (names are these constants, never user text)


def finished(
    item: QueueItem, worker: str, status: str, result: Any, error: str | None, run_id: str | None, now: Any
) -> Columns | None:
    """`item` done or failed by `worker`; None when that worker reports the same end again."""
    if item.status == status and item.worker == worker:
        return None
    check_held(item, worker, "done" if status == DONE else "failed")
    return finish_columns(status, result, error, run_id, now)


def finish_columns(status: str, result: Any, error: str | None, run_id: str | None, now: Any) -> Columns:
    """The columns of an ended item (without the checks: a backend may check in its WHERE)."""
    columns: Columns = {
        "status": status,
        "result": json.dumps(result) if result is not None else None,
        "error": error,
        "finished_at": now,
        "lease_expires_at": None,
    }
    if run_id is not None:  # a run id given earlier stays when this end names none
        columns["run_id"] = run_id
    return columns


def released(item: QueueItem, worker: str, reason: str, now: Any) -> Columns:
    """`item` given back unfinished: pending again, or failed after its last attempt."""
    check_held(item, worker, "given back")
    last = item.attempts >= item.max_attempts
    return {
        "status": FAILED if last else PENDING,
        "error": f"{reason} (attempt {item.attempts} of {item.max_attempts})",
        "lease_expires_at": None,
        "finished_at": now if last else None,
    }


def cancelled(item: QueueItem, now: Any) -> Columns:
    if item.status not in (PENDING, RUNNING):
        raise WrongState(f"queue item {item.id} is {item.status}: only pending or running items can be cancelled")
    return {"status": CANCELLED, "lease_expires_at": None, "finished_at": now}


def retried(item: QueueItem) -> Columns:
    """Back to pending as if new: attempts, worker, times, run, result and error cleared."""
    if item.status not in (FAILED, CANCELLED):
        raise WrongState(f"queue item {item.id} is {item.status}: only failed or cancelled items can be retried")
    cleared = ("worker", "lease_expires_at", "started_at", "finished_at", "run_id", "result", "error")
    return {"status": PENDING, "attempts": 0, **dict.fromkeys(cleared)}
