"""`bassi execute --next [--drain]`: claim items and run each like a task, exactly once.

A `--task` item runs that task with the item's prompt (when it has one) and variables; any other
item is an ad-hoc prompt. Each run is an ordinary run (history row, transcript, result
document), and its result document is stored on the item: `done` on success, `failed` with the
error otherwise. An interrupted run gives its item back to the queue for another worker.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bassi_ci import clock
from bassi_ci.agent.loop import AgentObserver
from bassi_ci.agent.transport import AnthropicTransport, Transport
from bassi_ci.errors import BassiError, ExitCode
from bassi_ci.home import state_db_path
from bassi_ci.queue.lease import LeaseKeeper
from bassi_ci.queue.model import QueueItem
from bassi_ci.queue.store import QueueStore
from bassi_ci.runs import history
from bassi_ci.runs.ending import new_run_id
from bassi_ci.runs.executor import RunPlan, build_transport, execute_run, record_failure
from bassi_ci.runs.redact import Redactor
from bassi_ci.runs.resolve import ADHOC_ID, task_workdir
from bassi_ci.runs.result import RunReport, build_result
from bassi_ci.tasks.lookup import find_task
from bassi_ci.tasks.model import Task

DEFAULT_LEASE_S = 60.0
DRAIN_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RunOverrides:
    """The worker's command-line settings, applied to every item it runs."""

    model: str | None = None
    max_turns: int | None = None
    timeout_s: float | None = None
    max_budget_usd: float | None = None
    tools: tuple[str, ...] | None = None
    replay: Path | None = None


@dataclass(frozen=True)
class Worker:
    """Who claims (a unique name per process) and how: its store, lease and where it runs."""

    name: str
    open_store: Callable[[], QueueStore]
    cwd: Path
    lease_s: float = DEFAULT_LEASE_S
    overrides: RunOverrides = RunOverrides()


@dataclass(frozen=True)
class ItemOutcome:
    """One item a worker ran: the item as it ended up, the run's report and result document."""

    item: QueueItem
    report: RunReport
    document: dict[str, Any]
    warning: str | None = None  # the item changed hands or was cancelled while it ran


ConsoleFactory = Callable[[], AgentObserver | None]


class SharedTransports:
    """One API client per worker (per `retries` setting) instead of one per item: building the
    SDK's client loads the TLS certificates, ~65 ms, more than bassi's own work for an item. Runs
    of one worker follow each other, and a transport sets its deadline at each call."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._clients: dict[int, Transport] = {}

    def __call__(self, plan: RunPlan) -> Transport:
        if plan.replay is not None:
            return build_transport(plan, self._redactor)
        retries = plan.task.retries
        if retries not in self._clients:
            self._clients[retries] = AnthropicTransport(retries=retries)
        return self._clients[retries]


def worker_name() -> str:
    """Unique per process, and says where it runs: `host:pid:random`."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def drain(
    worker: Worker,
    console: ConsoleFactory,
    redactor: Redactor,
    max_items: int | None = None,
    on_item: Callable[[ItemOutcome], None] | None = None,
) -> list[ItemOutcome]:
    """Claim and run items until the queue is empty, `max_items` ran, or a run was interrupted."""
    store = worker.open_store()
    transports = SharedTransports(redactor)
    outcomes: list[ItemOutcome] = []
    # state.db stays open for the whole drain: each run opens and closes it several times, and
    # closing the last connection to it checkpoints the WAL (~8 ms a time; with a PostgreSQL queue,
    # whose store does not hold state.db open, a quarter of what an item costs).
    with closing(store), history.connect(state_db_path()):
        while max_items is None or len(outcomes) < max_items:
            item = store.claim(worker.name, worker.lease_s)
            if item is None:
                break
            outcome = run_item(worker, store, item, console(), redactor, transports)
            outcomes.append(outcome)
            if on_item is not None:
                on_item(outcome)
            if outcome.report.exit_code is ExitCode.INTERRUPTED:
                break
    return outcomes


def run_item(
    worker: Worker,
    store: QueueStore,
    item: QueueItem,
    console: AgentObserver | None,
    redactor: Redactor,
    transports: Callable[[RunPlan], Transport] | None = None,
) -> ItemOutcome:
    """Run one claimed item under its renewed lease, then record its end on the item."""
    task: Task | None = None
    with LeaseKeeper(worker.open_store, item.id, worker.name, worker.lease_s) as lease:
        try:
            task = task_of(item, worker.cwd)
            plan = plan_of(item, task, worker)
            report = execute_run(plan, console, redactor=redactor, transport_factory=transports)
        except (Exception, KeyboardInterrupt) as ending:
            report = record_failure(task, worker.overrides.model, ending, redactor)
    document = redactor.data(build_result(report))
    try:
        ended = _record_end(store, item, worker.name, report, document)
    except BassiError as problem:  # cancelled or taken back meanwhile: the run happened, the item moved on
        warning = lease.lost or str(problem)
        return ItemOutcome(store.get(item.id), report, document, f"{warning}; its result was not stored")
    return ItemOutcome(ended, report, document)


def task_of(item: QueueItem, cwd: Path) -> Task:
    """The task an item runs: its `--task` with the item's prompt, or an ad-hoc prompt."""
    if item.task is None:
        return Task(id=ADHOC_ID, name=item.name, prompt=item.prompt or "")
    task = find_task(item.task, cwd)
    return task if item.prompt is None else replace(task, prompt=item.prompt)


def task_reference(spec: str, cwd: Path) -> str:
    """What an item keeps of the task it names: a task file's absolute path, else the task's id.
    Looked up now, so a typo fails when the item is added rather than in a worker."""
    task = find_task(spec, cwd)
    given = Path(spec).expanduser()
    path = given if given.is_absolute() else cwd / given
    return str(path.resolve()) if path.is_file() else task.id


def plan_of(item: QueueItem, task: Task, worker: Worker) -> RunPlan:
    extra = worker.overrides
    return RunPlan(
        task=task,
        workdir=task_workdir(task, worker.cwd),
        cli_vars=dict(item.vars),
        model=extra.model,
        max_turns=extra.max_turns,
        timeout_s=extra.timeout_s,
        max_budget_usd=extra.max_budget_usd,
        tools=extra.tools,
        replay=extra.replay,
        wait=True,  # two items of one task run one after the other, never `locked`
        adhoc=item.task is None,
    )


def _record_end(
    store: QueueStore, item: QueueItem, worker: str, report: RunReport, document: dict[str, Any]
) -> QueueItem:
    if report.exit_code is ExitCode.SUCCESS:
        return store.complete(item.id, worker, document, run_id=report.run_id)
    if report.exit_code is ExitCode.INTERRUPTED:
        return store.release(item.id, worker, "the worker was interrupted")
    error = document["error"] or {"message": report.status}
    return store.fail(item.id, worker, f"{report.status}: {error['message']}", document, run_id=report.run_id)


def idle_report() -> RunReport:
    """The result of `execute --next` on an empty queue: nothing ran, exit 0, status `idle`."""
    stamp = clock.utc_iso(clock.now())
    return RunReport(
        run_id=new_run_id(clock.now()),
        task_id=None,
        exit_code=ExitCode.SUCCESS,
        started_at=stamp,
        finished_at=stamp,
        duration_ms=0,
        idle=True,
    )


def drain_exit_code(outcomes: list[ItemOutcome]) -> ExitCode:
    """0 when every item succeeded (or none was there), else the first failure's code."""
    failures = [o.report.exit_code for o in outcomes if o.report.exit_code is not ExitCode.SUCCESS]
    return failures[0] if failures else ExitCode.SUCCESS


def drain_summary(outcomes: list[ItemOutcome], worker: str, started_at: str) -> dict[str, Any]:
    """The one JSON document `execute --next --drain --ci` prints (bassi_ci/schemas/drain.schema.json)."""
    code = drain_exit_code(outcomes)
    status = "idle" if not outcomes else code.status
    return {
        "schema_version": DRAIN_SCHEMA_VERSION,
        "status": status,
        "exit_code": int(code),
        "is_error": code is not ExitCode.SUCCESS,
        "worker": worker,
        "started_at": started_at,
        "finished_at": clock.utc_iso(clock.now()),
        "items_run": len(outcomes),
        "succeeded": sum(o.report.exit_code is ExitCode.SUCCESS for o in outcomes),
        "failed": sum(o.report.exit_code is not ExitCode.SUCCESS for o in outcomes),
        "total_cost_usd": round(sum(o.document["total_cost_usd"] for o in outcomes), 6),
        "items": [_item_line(o) for o in outcomes],
    }


def _item_line(outcome: ItemOutcome) -> dict[str, Any]:
    document = outcome.document
    return {
        "id": outcome.item.id,
        "name": outcome.item.name,
        "item_status": outcome.item.status,
        "attempt": outcome.item.attempts,
        "run_id": document["run_id"],
        "status": document["status"],
        "exit_code": document["exit_code"],
        "error": document["error"],
    }
