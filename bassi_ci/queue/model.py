"""What a queue item is, the states it moves through, and the errors of the queue.

States: `pending → running → done | failed | cancelled`. A `running` item carries a lease: the
worker that claimed it renews it while it works, and an item whose lease expired goes back to
`pending` (its attempt counted) or, after its last attempt, to `failed`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from bassi_ci.errors import BassiError, ExitCode, StoreError, UsageError

PENDING = "pending"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"
STATUSES = (PENDING, RUNNING, DONE, FAILED, CANCELLED)
FINISHED = (DONE, FAILED, CANCELLED)

# The columns every backend stores, in the order queries name them (`list` leaves out results).
LIST_COLUMNS = (
    "id, name, prompt, task, priority, vars, status, attempts, max_attempts, worker, lease_expires_at,"
    " created_at, started_at, finished_at, run_id, error"
)
ITEM_COLUMNS = LIST_COLUMNS + ", result"

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_PRIORITY = 0
# What every backend can store: PostgreSQL's INTEGER columns hold 32 bits, its BIGINT ids and
# SQLite's integers 64 (a larger Python int crashed SQLite's driver); PostgreSQL text holds no NUL.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
MAX_ITEM_ID = 2**63 - 1


class ItemNotFound(UsageError):
    """No queue item with that id."""


class WrongState(UsageError):
    """The item is not in a state that allows this (cancel a done item, complete someone else's)."""


class LeaseLost(BassiError):
    """The worker no longer holds the item's lease (it expired and the item was taken back, or it
    was cancelled); exit 1."""


class QueueStoreError(StoreError):
    """The queue's storage cannot be used (exit 1)."""


class QueueUnavailable(BassiError):
    """The queue's database server cannot be reached, even after retrying (exit 6, like an API
    that stays down: running again later may well work)."""

    exit_code = ExitCode.API_ERROR
    retryable = True


@dataclass(frozen=True)
class NewItem:
    """What `queue add` (or the MCP tool `add_task`) asks for; the store adds the rest."""

    name: str
    prompt: str | None = None  # None: the task's own prompt (only with a task)
    task: str | None = None  # a task id, or the absolute path of a task file
    priority: int = DEFAULT_PRIORITY
    vars: dict[str, str] = field(default_factory=dict)
    max_attempts: int = DEFAULT_MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise UsageError("a queue item needs a NAME that is not empty")
        if self.prompt is None and self.task is None:
            raise UsageError("a queue item needs --prompt TEXT, or --task ID whose prompt it runs")
        if self.prompt is not None and not self.prompt.strip():
            raise UsageError("--prompt is empty: give the text the agent should work on")
        if not 1 <= self.max_attempts <= INT_MAX:
            raise UsageError(f"--max-attempts {self.max_attempts}: give a whole number from 1 to {INT_MAX}")
        if not INT_MIN <= self.priority <= INT_MAX:
            raise UsageError(f"--priority {self.priority}: give a whole number from {INT_MIN} to {INT_MAX}")
        self._check_no_nul()

    def _check_no_nul(self) -> None:
        """A NUL character is refused on every backend alike (PostgreSQL cannot store one in text)."""
        texts = {"NAME": [self.name], "--prompt": [self.prompt or ""], "--task": [self.task or ""]}
        texts["--var"] = [text for pair in self.vars.items() for text in pair]
        for option, values in texts.items():
            if any("\0" in value for value in values):
                raise UsageError(f"{option}: a queue item cannot hold a NUL character (\\0); remove it")


@dataclass(frozen=True)
class QueueItem:
    """One item as stored; `as_dict()` is its public JSON form (`queue show --json`, MCP tools)."""

    id: int
    name: str
    prompt: str | None
    task: str | None
    priority: int
    vars: dict[str, str]
    status: str
    attempts: int
    max_attempts: int
    worker: str | None
    lease_expires_at: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    run_id: str | None
    result: Any  # the run's result document (execute --next), or what an MCP client completed it with
    error: str | None

    def as_dict(self, with_result: bool = True) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in _ITEM_FIELDS}
        if not with_result:
            del data["result"]
        return data

    @classmethod
    def from_row(cls, row: Any) -> QueueItem:
        """From a database row whose `vars` and `result` are JSON text (result may be absent)."""
        data = dict(row)
        data["vars"] = _json_object(data["vars"])
        result = data.get("result")
        data["result"] = json.loads(result) if result is not None else None
        return cls(**data)


_ITEM_FIELDS = tuple(f.name for f in fields(QueueItem))


def _json_object(text: str | None) -> dict[str, str]:
    # Most items have no variables: skip the parser for them (a tenth of `queue list`'s time).
    if not text or text == "{}":
        return {}
    value: dict[str, str] = json.loads(text)
    return value


def check_held(item: QueueItem, worker: str, becoming: str) -> None:
    """Only the worker that claimed an item ends it: while it runs, or after its lease expired as
    long as nobody took it since (the work is done; running it again would waste it)."""
    if item.worker == worker and item.status in (RUNNING, PENDING):
        return
    raise WrongState(f"queue item {item.id} cannot be {becoming} by {worker}: it is {state_of(item)}")


def state_of(item: QueueItem) -> str:
    """Where an item stands, for the message of a worker that no longer holds it."""
    if item.status == RUNNING:
        return f"running under worker {item.worker}"
    if item.status == DONE:
        return f"done (completed by worker {item.worker})"
    if item.status == PENDING:
        return "pending (not claimed)" if item.worker is None else "pending again (its lease expired)"
    return f"{item.status} (queue retry {item.id} puts it back)"
