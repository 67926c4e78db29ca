"""The queue side of `bassi execute`: `--next` runs the next queue item, `--drain` runs items until
the queue is empty (or `--max-items`). The work is bassi_ci.queue.worker's; this module prints.

`--next` publishes the item's run exactly like `execute TASK` (its result document, or one with
status `idle` on an empty queue). `--drain` prints a line per item for people and, with --ci or
--json, one summary document (bassi_ci/schemas/drain.schema.json) at the end.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bassi_ci import clock, output
from bassi_ci.agent.loop import AgentObserver
from bassi_ci.commands.queue_url import store_opener
from bassi_ci.errors import UsageError
from bassi_ci.queue.worker import (
    DEFAULT_LEASE_S,
    ItemOutcome,
    RunOverrides,
    Worker,
    drain,
    drain_exit_code,
    drain_summary,
    idle_report,
    worker_name,
)
from bassi_ci.runs.ci import CiEnvironment, stop_commands
from bassi_ci.runs.redact import Redactor
from bassi_ci.runs.result import RunReport
from bassi_ci.signals import ignore_interrupts, interrupts_deferred

Publisher = Callable[[RunReport], int]


@dataclass(frozen=True)
class QueueChoice:
    """--next / --drain / --max-items / --lease / --queue-url as given."""

    drain: bool
    max_items: int | None
    lease_s: float = DEFAULT_LEASE_S
    queue_url: str | None = None  # None: $BASSI_QUEUE_URL, else this machine's queue

    @classmethod
    def of(cls, drain: bool, max_items: int | None, lease_s: float | None, queue_url: str | None = None) -> QueueChoice:
        if max_items is not None and not drain:
            raise UsageError("--max-items works with --drain: e.g. bassi execute --next --drain --max-items 10")
        return cls(drain=drain, max_items=max_items, lease_s=lease_s or DEFAULT_LEASE_S, queue_url=queue_url)


def refuse_with_next(**given: object) -> None:
    """Options that name what to run make no sense with --next: the item says what to run."""
    clashing = [name for name, value in given.items() if value]
    if clashing:
        names = ", ".join(clashing)
        raise UsageError(f"{names}: not with --next, the queue item says what to run (see 'bassi queue add --help')")


def run_from_queue(
    choice: QueueChoice,
    overrides: RunOverrides,
    console: Callable[[], AgentObserver | None],
    redactor: Redactor,
    human: IO[str],
    publish: Publisher,
    summary_lines: Callable[[RunReport], list[str]],
    as_json: bool,
) -> int:
    worker = Worker(worker_name(), store_opener(choice.queue_url), Path.cwd(), choice.lease_s, overrides)
    if not choice.drain:
        return _run_one(worker, console, redactor, publish)
    started = clock.utc_iso(clock.now())

    def report_item(outcome: ItemOutcome) -> None:
        lines = [_item_line(outcome), *(f"  {line}" for line in summary_lines(outcome.report))]
        output.write(human, "".join(line + "\n" for line in _inert([redactor.text(line) for line in lines])))

    outcomes = drain(worker, console, redactor, choice.max_items, on_item=report_item)
    with interrupts_deferred():
        summary = redactor.data(drain_summary(outcomes, worker.name, started))
        ran = summary["items_run"]
        tail = (
            f"drained {ran} item{'s' if ran != 1 else ''}: {summary['succeeded']} succeeded, {summary['failed']} failed"
        )
        output.write(human, (tail if ran else "the queue is empty: nothing to run") + "\n")
        if as_json:
            output.write(sys.stdout, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    ignore_interrupts()
    return int(drain_exit_code(outcomes))


def _inert(lines: list[str]) -> list[str]:
    """On GitHub, `lines` fenced with a random ::stop-commands:: token: an item's error message
    may quote the model, whose lines must not become workflow commands (as in `execute TASK`)."""
    if not CiEnvironment.detect(os.environ).github:
        return lines
    stop, resume = stop_commands()
    return [stop, *lines, resume]


def _run_one(
    worker: Worker, console: Callable[[], AgentObserver | None], redactor: Redactor, publish: Publisher
) -> int:
    outcomes = drain(worker, console, redactor, max_items=1)
    if not outcomes:
        output.write(sys.stderr, "bassi: the queue is empty: nothing to run\n")
        return publish(idle_report())
    output.write(sys.stderr, redactor.text(_item_line(outcomes[0])) + "\n")
    return publish(outcomes[0].report)


def _item_line(outcome: ItemOutcome) -> str:
    item = outcome.item
    line = f"queue item {item.id} {item.name!r}: {item.status} (attempt {item.attempts} of {item.max_attempts})"
    return line + (f"; {outcome.warning}" if outcome.warning else "")
