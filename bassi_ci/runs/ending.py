"""How a run ended, as the RunReport every output is made from.

report_of() is the one place where an ending becomes a report: the loop's AgentOutcome,
or whatever stopped the run before or outside the loop (mapped by errors.as_bassi_error).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bassi_ci import clock
from bassi_ci.errors import BassiError, as_bassi_error
from bassi_ci.home import logs_dir
from bassi_ci.runs.redact import Redactor
from bassi_ci.runs.result import ErrorInfo, RunReport

if TYPE_CHECKING:
    from bassi_ci.agent.loop import AgentOutcome


@dataclass
class RunIdentity:
    """What is fixed before anything else happens: the id, the start, the log path."""

    run_id: str
    task_id: str
    started: datetime
    started_mono: float
    log_path: Path
    task_key: str | None = None  # the task file, for the history (tasks.lookup.history_key)

    @classmethod
    def new(cls, task_id: str, task_key: str | None = None) -> RunIdentity:
        started = clock.now()
        run_id = new_run_id(started)
        log_path = logs_dir() / task_id / f"{run_id}.jsonl"
        return cls(run_id, task_id, started, time.monotonic(), log_path, task_key)

    def restart_clock(self) -> None:
        """The run really starts now (after waiting for its lock)."""
        self.started, self.started_mono = clock.now(), time.monotonic()

    def draw_new_id(self) -> None:
        """Another run of the history has this id (history.RunIdTaken): take another, and the log
        path that goes with it."""
        self.run_id = new_run_id(self.started)
        self.log_path = self.log_path.with_name(f"{self.run_id}.jsonl")


def new_run_id(started: datetime) -> str:
    """Sortable, and random enough to be unique: `20270310T090000Z-a1b2c3`. The history row makes
    sure it is (history.start_run refuses an id that another run has)."""
    return f"{started.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def report_of(
    ident: RunIdentity,
    model: str | None,
    ending: AgentOutcome | BaseException,
    redactor: Redactor,
    *,
    has_log: bool,
) -> RunReport:
    """The report of a run that ended with `ending`; `has_log`: its transcript was written."""
    if isinstance(ending, BaseException):
        problem = as_bassi_error(ending)
        return _report(ident, model, has_log, exit_code=problem.exit_code, error=error_info(problem, redactor))
    return _report(
        ident,
        model,
        has_log,
        exit_code=ending.exit_code,
        duration_api_ms=ending.duration_api_ms,
        num_turns=ending.num_turns,
        usage=ending.usage.as_dict(),
        total_cost_usd=ending.total_cost_usd,
        final_text=redactor.text(ending.final_text),
        structured_output=redactor.data(ending.structured_output),
        files_changed=[redactor.text(p) for p in ending.files_changed],
        permission_denials=redactor.data(ending.permission_denials),
        error=error_info(ending.error, redactor) if ending.error is not None else None,
    )


def _report(ident: RunIdentity, model: str | None, has_log: bool, **outcome: Any) -> RunReport:
    return RunReport(
        run_id=ident.run_id,
        task_id=ident.task_id,
        started_at=clock.utc_iso(ident.started),
        finished_at=clock.utc_iso(clock.now()),
        duration_ms=int((time.monotonic() - ident.started_mono) * 1000),
        model=model,
        log_path=str(ident.log_path) if has_log else None,
        **outcome,
    )


def error_info(error: BassiError, redactor: Redactor) -> ErrorInfo:
    return ErrorInfo(error.type_name, redactor.text(str(error)), error.retryable)
