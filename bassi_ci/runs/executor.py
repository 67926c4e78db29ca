"""One run of a task from start to end: variables, lock, history row, transcript,
the agent loop, and the RunReport the result is built from.

Every way a run can end becomes a RunReport with its exit code; the history row is
written for each run whose task is known, whatever its end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bassi_ci import clock
from bassi_ci.errors import BassiError, ExitCode, Interrupted
from bassi_ci.home import bassi_home, logs_dir, state_db_path
from bassi_ci.runs import history
from bassi_ci.runs.locks import task_lock
from bassi_ci.runs.redact import Redactor
from bassi_ci.runs.result import ErrorInfo, RunReport
from bassi_ci.runs.signals import interrupts_deferred
from bassi_ci.runs.templating import builtin_variables, expand, merge_variables
from bassi_ci.tasks.model import Task

if TYPE_CHECKING:
    from bassi_ci.agent.loop import AgentObserver, AgentOutcome
    from bassi_ci.agent.transport import Transport


@dataclass(frozen=True)
class RunPlan:
    """A resolved task plus the command line's overrides."""

    task: Task
    workdir: Path
    cli_vars: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    max_turns: int | None = None
    timeout_s: float | None = None
    max_budget_usd: float | None = None
    tools: tuple[str, ...] | None = None
    wait: bool = False
    record: Path | None = None
    replay: Path | None = None
    interactive: bool = False
    adhoc: bool = False  # a --prompt without TASK: unrelated to any other run, so never locked

    @property
    def effective_model(self) -> str:
        return self.model or self.task.model


@dataclass
class RunIdentity:
    """What is fixed before anything else happens: the id, the start, the log path."""

    run_id: str
    task_id: str
    started: datetime
    started_mono: float
    log_path: Path

    @classmethod
    def new(cls, task_id: str) -> RunIdentity:
        started = clock.now()
        run_id = new_run_id(started)
        return cls(run_id, task_id, started, time.monotonic(), logs_dir() / task_id / f"{run_id}.jsonl")


def new_run_id(started: datetime) -> str:
    """Sortable and unique: `20270310T090000Z-a1b2c3`."""
    return f"{started.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


TransportFactory = Callable[[RunPlan], "Transport"]


def execute_run(
    plan: RunPlan,
    console: AgentObserver | None = None,
    *,
    redactor: Redactor | None = None,
    transport_factory: TransportFactory | None = None,
    on_started: Callable[[RunIdentity], None] | None = None,
) -> RunReport:
    """Run the plan to its end; never raises for a documented outcome."""
    redactor = redactor or Redactor.from_environ()
    ident = RunIdentity.new(plan.task.id)
    db = state_db_path()
    row_started = False
    try:
        prompt = expand_prompt(plan, ident)
        transport = transport_factory(plan) if transport_factory else build_transport(plan, redactor)
        with _lock(plan):
            ident.started, ident.started_mono = clock.now(), time.monotonic()
            history.start_run(
                db,
                run_id=ident.run_id,
                task_id=ident.task_id,
                started_at=clock.utc_iso(ident.started),
                model=plan.effective_model,
                log_path=str(ident.log_path),
            )
            row_started = True
            if on_started is not None:
                on_started(ident)
            report = _run_agent(plan, ident, prompt, transport, console, redactor)
            with interrupts_deferred():
                return _finish_row(db, ident.run_id, report, redactor)
    except BassiError as problem:
        report = failure_report(ident, plan.effective_model, problem, redactor, log_path=row_started)
    except KeyboardInterrupt:
        report = failure_report(
            ident,
            plan.effective_model,
            Interrupted("interrupted before the run finished"),
            redactor,
            log_path=row_started,
        )
    with interrupts_deferred(), contextlib.suppress(history.HistoryError):  # the report tells what went wrong
        if not row_started:
            history.start_run(
                db,
                run_id=ident.run_id,
                task_id=ident.task_id,
                started_at=clock.utc_iso(ident.started),
                model=plan.effective_model,
                log_path=None,
            )
        history.finish_run(db, ident.run_id, _run_end(report))
    return report


def _finish_row(db: Path, run_id: str, report: RunReport, redactor: Redactor) -> RunReport:
    """Finish the run's history row; a successful run whose row cannot be written fails (exit 1)."""
    try:
        history.finish_run(db, run_id, _run_end(report))
    except history.HistoryError as problem:
        if report.exit_code is ExitCode.SUCCESS:
            return dataclasses.replace(report, exit_code=problem.exit_code, error=_error_info(problem, redactor))
    return report


def record_failure(task: Task | None, model: str | None, problem: BassiError, redactor: Redactor) -> RunReport:
    """A run that could not start (bad workspace, bad --var, ...): a result, and a row when the task is known."""
    ident = RunIdentity.new(task.id if task else "")
    report = failure_report(ident, model, problem, redactor, log_path=False)
    if task is None:
        return dataclasses.replace(report, task_id=None)
    with interrupts_deferred(), contextlib.suppress(history.HistoryError):  # the report tells what went wrong
        db = state_db_path()
        history.start_run(
            db,
            run_id=ident.run_id,
            task_id=task.id,
            started_at=report.started_at,
            model=model or task.model,
            log_path=None,
        )
        history.finish_run(db, ident.run_id, _run_end(report))
    return report


def expand_prompt(plan: RunPlan, ident: RunIdentity) -> str:
    task = plan.task
    last = history.last_success_started(state_db_path(), task.id)
    builtins = builtin_variables(
        task_id=task.id, run_id=ident.run_id, now=ident.started, zone=task.timezone, last_run=last
    )
    variables = merge_variables(builtins, task.vars, plan.cli_vars)
    return expand(task.prompt, variables)


def build_transport(plan: RunPlan, redactor: Redactor) -> Transport:
    """The real API, or a replay; wrapped in a recorder (that keeps no secret) with --record."""
    from bassi_ci.agent.transport import AnthropicTransport, RecordingTransport, ReplayTransport

    transport: Transport
    transport = ReplayTransport(plan.replay) if plan.replay else AnthropicTransport(retries=plan.task.retries)
    if plan.record is not None:
        transport = RecordingTransport(transport, plan.record, redact=redactor.message)
    return transport


@contextlib.contextmanager
def _lock(plan: RunPlan) -> Iterator[None]:
    # Ad-hoc prompts are unrelated to each other; only tasks run one at a time.
    if plan.adhoc:
        yield
        return
    with task_lock(plan.task.id, wait=plan.wait):
        yield


def _run_agent(
    plan: RunPlan,
    ident: RunIdentity,
    prompt: str,
    transport: Transport,
    console: AgentObserver | None,
    redactor: Redactor,
) -> RunReport:
    from bassi_ci.agent.loop import AgentRequest, run_agent
    from bassi_ci.agent.pricing import cost_usd
    from bassi_ci.runs.observers import FanOut, TranscriptObserver, TurnCounter

    task = plan.task
    timeout_s = plan.timeout_s if plan.timeout_s is not None else task.limits.timeout_s
    request = AgentRequest(
        prompt=prompt,
        model=plan.effective_model,
        workdir=plan.workdir,
        allowed_tools=plan.tools if plan.tools is not None else task.tools,
        max_turns=plan.max_turns if plan.max_turns is not None else task.limits.max_turns,
        max_budget_usd=plan.max_budget_usd if plan.max_budget_usd is not None else task.limits.max_budget_usd,
        deadline=time.monotonic() + timeout_s,
        interactive=plan.interactive,
    )
    transcript = TranscriptObserver(ident.log_path, redactor)
    counter = TurnCounter()
    try:
        transcript.event(
            "run_start",
            run_id=ident.run_id,
            task_id=task.id,
            model=request.model,
            workdir=str(plan.workdir),
            prompt=prompt,
            tools=list(request.allowed_tools),
            max_turns=request.max_turns,
            max_budget_usd=request.max_budget_usd,
            timeout_s=timeout_s,
            replay=str(plan.replay) if plan.replay else None,
        )
        observers: list[AgentObserver] = [counter, transcript] + ([console] if console is not None else [])
        try:
            outcome = run_agent(request, transport, FanOut(observers, asker=console))
        except Exception as bug:  # a defect in the loop must still end with a result and a row
            transcript.event("crash", traceback="".join(traceback.format_exception(bug)))
            report = failure_report(ident, request.model, InternalError.of(bug), redactor, log_path=True)
            report = dataclasses.replace(
                report,
                num_turns=counter.num_turns,
                usage=counter.usage.as_dict(),
                total_cost_usd=cost_usd(request.model, counter.usage),
            )
        else:
            report = outcome_report(ident, request.model, outcome, redactor)
            report = dataclasses.replace(report, files_changed=_own_files_removed(report.files_changed, plan))
        from bassi_ci.runs.result import build_result

        transcript.event("run_end", result=build_result(report))
    finally:
        if console is not None and hasattr(console, "flush"):
            console.flush()  # also resumes workflow commands, so the result's annotations work
        transcript.close()
    return report


class InternalError(BassiError):
    """A defect in bassi itself; the run still ends with a result (exit 1)."""

    exit_code = ExitCode.FAILED

    @classmethod
    def of(cls, bug: BaseException) -> InternalError:
        return cls(f"unexpected error: {type(bug).__name__}: {bug}")


def crash_report(task: Task | None, model: str | None, bug: Exception, redactor: Redactor) -> RunReport:
    """The result of a run that a defect (or a broken disk) ended; the history may be unwritable."""
    ident = RunIdentity.new(task.id if task else "")
    report = failure_report(ident, model, InternalError.of(bug), redactor, log_path=False)
    return report if task else dataclasses.replace(report, task_id=None)


def _own_files_removed(files: Sequence[str], plan: RunPlan) -> list[str]:
    """Changed files minus bassi's own (history, logs, a recording) when they live in the workspace."""
    own = [bassi_home().resolve()] + ([plan.record.resolve()] if plan.record else [])
    root = plan.workdir.resolve()

    def is_own(name: str) -> bool:
        path = root / name
        return any(path == mine or mine in path.parents for mine in own)

    return [name for name in files if not is_own(name)]


def outcome_report(ident: RunIdentity, model: str, outcome: AgentOutcome, redactor: Redactor) -> RunReport:
    finished = clock.now()
    error = outcome.error
    return RunReport(
        run_id=ident.run_id,
        task_id=ident.task_id,
        exit_code=outcome.exit_code,
        started_at=clock.utc_iso(ident.started),
        finished_at=clock.utc_iso(finished),
        duration_ms=_elapsed_ms(ident),
        duration_api_ms=outcome.duration_api_ms,
        model=model,
        num_turns=outcome.num_turns,
        usage=outcome.usage.as_dict(),
        total_cost_usd=outcome.total_cost_usd,
        final_text=redactor.text(outcome.final_text),
        files_changed=[redactor.text(p) for p in outcome.files_changed],
        permission_denials=redactor.data(outcome.permission_denials),
        error=_error_info(error, redactor) if error is not None else None,
        log_path=str(ident.log_path),
    )


def failure_report(
    ident: RunIdentity, model: str | None, problem: BassiError, redactor: Redactor, *, log_path: bool
) -> RunReport:
    """A run that ended before (or outside) the agent loop."""
    return RunReport(
        run_id=ident.run_id,
        task_id=ident.task_id,
        exit_code=problem.exit_code,
        started_at=clock.utc_iso(ident.started),
        finished_at=clock.utc_iso(clock.now()),
        duration_ms=_elapsed_ms(ident),
        model=model,
        error=_error_info(problem, redactor),
        log_path=str(ident.log_path) if log_path else None,
    )


def _error_info(error: BassiError, redactor: Redactor) -> ErrorInfo:
    return ErrorInfo(error.type_name, redactor.text(str(error)), error.retryable)


def _run_end(report: RunReport) -> history.RunEnd:
    return history.RunEnd(
        finished_at=report.finished_at,
        status=report.status,
        exit_code=int(report.exit_code),
        model=report.model or "",
        num_turns=report.num_turns,
        usage=dict(report.usage),
        total_cost_usd=report.total_cost_usd,
        duration_ms=report.duration_ms,
        result=report.final_text,
        error_type=report.error.type if report.error else None,
        error_message=report.error.message if report.error else None,
    )


def _elapsed_ms(ident: RunIdentity) -> int:
    return int((time.monotonic() - ident.started_mono) * 1000)
