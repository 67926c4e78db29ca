"""The queue's storage rules, on both backends (a real SQLite file and a real PostgreSQL
database, tests/pgserver.py): claim order, leases with an injected clock, attempts, idempotent
completion, cancel and retry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bassi_ci.errors import UsageError
from bassi_ci.queue.model import ItemNotFound, LeaseLost, NewItem, WrongState
from bassi_ci.queue.sqlite import SqliteQueueStore
from bassi_ci.queue.store import QueueStore
from tests.pgserver import BACKENDS


class FakeClock:
    def __init__(self) -> None:
        self.moment = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def now() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path, now: FakeClock) -> Iterator[QueueStore]:
    """An empty queue of each backend, on the same fake clock."""
    queue: QueueStore
    if request.param == "sqlite":
        queue = SqliteQueueStore(tmp_path / "state.db", now=now)
    else:
        from bassi_ci.queue.postgres import PostgresQueueStore

        queue = PostgresQueueStore(request.getfixturevalue("pg_url"), now=now)
    yield queue
    queue.close()


def add(store: QueueStore, name: str, priority: int = 0, max_attempts: int = 3) -> int:
    return store.add(NewItem(name=name, prompt=f"do {name}", priority=priority, max_attempts=max_attempts)).id


def test_claims_highest_priority_then_oldest(store: QueueStore, now: FakeClock) -> None:
    low = add(store, "low")
    now.advance(1)
    high_old = add(store, "high-old", priority=5)
    now.advance(1)
    high_new = add(store, "high-new", priority=5)
    claimed = [store.claim("w", 60) for _ in range(4)]
    assert [item.id if item else None for item in claimed] == [high_old, high_new, low, None]
    first = claimed[0]
    assert first is not None
    assert (first.status, first.attempts, first.worker) == ("running", 1, "w")
    assert first.lease_expires_at == "2027-03-10T09:01:02.000+00:00"


def test_added_item_keeps_what_was_asked(store: QueueStore) -> None:
    item = store.add(NewItem(name="n", prompt="p", task="weekly", priority=-2, vars={"a": "1"}, max_attempts=5))
    assert store.get(item.id).as_dict() == {
        "id": item.id,
        "name": "n",
        "prompt": "p",
        "task": "weekly",
        "priority": -2,
        "vars": {"a": "1"},
        "status": "pending",
        "attempts": 0,
        "max_attempts": 5,
        "worker": None,
        "lease_expires_at": None,
        "created_at": "2027-03-10T09:00:00.000+00:00",
        "started_at": None,
        "finished_at": None,
        "run_id": None,
        "result": None,
        "error": None,
    }


def test_expired_lease_returns_the_item_with_its_attempt_counted(store: QueueStore, now: FakeClock) -> None:
    item_id = add(store, "a", max_attempts=2)
    assert store.claim("w1", 30) is not None
    now.advance(29)
    assert store.claim("w2", 30) is None  # still leased
    now.advance(2)
    again = store.get(item_id)
    assert (again.status, again.attempts) == ("pending", 1)
    assert again.error and "lease of worker w1 expired on attempt 1 of 2" in again.error
    second = store.claim("w2", 30)
    assert second is not None and (second.id, second.attempts, second.worker) == (item_id, 2, "w2")
    now.advance(31)
    assert store.claim("w3", 30) is None  # the last attempt expired: failed, not claimed again
    failed = store.get(item_id)
    assert (failed.status, failed.attempts, failed.finished_at is not None) == ("failed", 2, True)
    assert failed.error and "expired on attempt 2 of 2" in failed.error


def test_renewing_keeps_the_lease(store: QueueStore, now: FakeClock) -> None:
    item_id = add(store, "a")
    store.claim("w1", 30)
    for _ in range(5):
        now.advance(20)
        store.renew(item_id, "w1", 30)
    assert store.claim("w2", 30) is None
    assert store.get(item_id).status == "running"
    with pytest.raises(LeaseLost, match="no longer held by w2"):
        store.renew(item_id, "w2", 30)


def test_renew_after_the_item_was_taken_back_fails(store: QueueStore, now: FakeClock) -> None:
    item_id = add(store, "a")
    store.claim("w1", 30)
    now.advance(31)
    store.claim("w2", 30)
    with pytest.raises(LeaseLost, match="running under worker w2"):
        store.renew(item_id, "w1", 30)
    with pytest.raises(WrongState, match="running under worker w2"):
        store.complete(item_id, "w1", {"r": 1})


def test_completion_is_idempotent_for_its_worker_only(store: QueueStore) -> None:
    item_id = add(store, "a")
    store.claim("w1", 30)
    done = store.complete(item_id, "w1", {"status": "success"}, run_id="r1")
    assert (done.status, done.result, done.run_id, done.lease_expires_at) == ("done", {"status": "success"}, "r1", None)
    assert store.complete(item_id, "w1", {"status": "other"}) == done  # a no-op
    with pytest.raises(WrongState, match="done \\(completed by worker w1\\)"):
        store.complete(item_id, "w2", {"status": "success"})
    with pytest.raises(WrongState):
        store.fail(item_id, "w1", "boom")


def test_completing_a_pending_or_cancelled_item_is_an_error(store: QueueStore) -> None:
    item_id = add(store, "a")
    with pytest.raises(WrongState, match="pending \\(not claimed\\)"):
        store.complete(item_id, "w1", "x")
    store.claim("w1", 30)
    store.cancel(item_id)
    with pytest.raises(WrongState, match="cancelled"):
        store.complete(item_id, "w1", "x")


def test_the_worker_may_still_finish_an_expired_item_nobody_took(store: QueueStore, now: FakeClock) -> None:
    item_id = add(store, "a")
    store.claim("w1", 30)
    now.advance(31)
    assert store.get(item_id).status == "pending"
    assert store.complete(item_id, "w1", "late but done").status == "done"


def test_fail_keeps_error_and_result(store: QueueStore) -> None:
    item_id = add(store, "a")
    store.claim("w1", 30)
    failed = store.fail(item_id, "w1", "the agent gave up", {"status": "failed"}, run_id="r9")
    assert (failed.status, failed.error, failed.result, failed.run_id) == (
        "failed",
        "the agent gave up",
        {"status": "failed"},
        "r9",
    )
    assert store.fail(item_id, "w1", "again") == failed


def test_release_puts_the_item_back_until_its_last_attempt(store: QueueStore) -> None:
    item_id = add(store, "a", max_attempts=2)
    store.claim("w1", 30)
    back = store.release(item_id, "w1", "interrupted")
    assert (back.status, back.error) == ("pending", "interrupted (attempt 1 of 2)")
    store.claim("w2", 30)
    assert store.release(item_id, "w2", "interrupted").status == "failed"


def test_cancel_and_retry_rules(store: QueueStore) -> None:
    item_id = add(store, "a")
    with pytest.raises(WrongState, match="only failed or cancelled items can be retried"):
        store.retry(item_id)
    assert store.cancel(item_id).status == "cancelled"
    with pytest.raises(WrongState, match="only pending or running items can be cancelled"):
        store.cancel(item_id)
    again = store.retry(item_id)
    assert (again.status, again.attempts, again.error, again.worker) == ("pending", 0, None, None)
    store.claim("w", 30)
    store.complete(item_id, "w", "ok")
    for action in (store.cancel, store.retry):
        with pytest.raises(WrongState, match="is done"):
            action(item_id)


def test_unknown_ids_and_statuses_are_usage_errors(store: QueueStore) -> None:
    for action in (store.get, store.cancel, store.retry):
        with pytest.raises(ItemNotFound, match="no queue item 42"):
            action(42)
    with pytest.raises(UsageError, match="--status 'bogus': expected one of pending, running"):
        store.list("bogus")


def test_list_filters_by_status_without_results(store: QueueStore) -> None:
    ids = [add(store, name) for name in "abc"]
    store.claim("w", 30)
    store.complete(ids[0], "w", {"big": "document"})
    assert [item.id for item in store.list()] == ids
    assert [item.id for item in store.list("pending")] == ids[1:]
    assert [item.result for item in store.list("done")] == [None]
    assert [item.id for item in store.list(limit=2)] == ids[:2]


def test_new_items_are_checked(store: QueueStore) -> None:
    with pytest.raises(UsageError, match="needs --prompt TEXT, or --task ID"):
        NewItem(name="x")
    with pytest.raises(UsageError, match="--max-attempts 0"):
        NewItem(name="x", prompt="p", max_attempts=0)


def test_the_queue_shares_the_history_database(tmp_path: Path) -> None:
    from bassi_ci.runs import history

    db = tmp_path / "state.db"
    SqliteQueueStore(db).close()
    with history.connect(db) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM migrations ORDER BY rowid")]
    assert names == [step.__name__ for step in history.MIGRATIONS]
    assert "m003_queue_items" in names
