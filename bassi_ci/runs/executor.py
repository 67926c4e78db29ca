"""One run of a task from start to end: variables, lock, history row, transcript,
the agent loop, and the RunReport the result is built from.

Every way a run can end becomes a RunReport with its exit code; the history row is
written for each run whose task is known, whatever its end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bassi_ci import clock
from bassi_ci.agent.loop import AgentObserver, AgentRequest, run_agent
from bassi_ci.agent.transport import AnthropicTransport, RecordingTransport, ReplayTransport, Transport
from bassi_ci.errors import ExitCode, InternalError, UsageError, as_bassi_error
from bassi_ci.home import bassi_home, state_db_path
from bassi_ci.runs import history, notify
from bassi_ci.runs.commitpaths import run_commit_note
from bassi_ci.runs.ending import RunIdentity, error_info, report_of
from bassi_ci.runs.locks import task_lock
from bassi_ci.runs.observers import FanOut, TranscriptObserver
from bassi_ci.runs.redact import Redactor
from bassi_ci.runs.result import RunReport, build_result
from bassi_ci.signals import interrupts_deferred
from bassi_ci.tasks.lookup import history_key
from bassi_ci.tasks.mcp_servers import McpServerSpec, merge_servers
from bassi_ci.tasks.model import Task
from bassi_ci.tasks.output_schema import task_output_schema
from bassi_ci.tasks.templating import builtin_variables, expand, merge_variables


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
    mcp_config: tuple[McpServerSpec, ...] = ()  # --mcp-config: added to the task's own servers
    output_schema: dict[str, Any] | None = None  # --output-schema, already checked: replaces the task's

    def structured_output_schema(self) -> dict[str, Any] | None:
        """The schema of the run's structured output: --output-schema, else the task's (a path in
        the task is read now); OutputSchemaError (exit 2) for one bassi does not accept."""
        if self.output_schema is not None:
            return self.output_schema
        return task_output_schema(self.task.output_schema, self.task.source)

    @property
    def mcp_servers(self) -> tuple[McpServerSpec, ...]:
        """The task's MCP servers, then those of --mcp-config whose names the task does not use."""
        servers, _ = merge_servers(self.task.mcp_servers, self.mcp_config)
        return servers

    @property
    def effective_model(self) -> str:
        return self.model or self.task.model


TransportFactory = Callable[[RunPlan], "Transport"]


def execute_run(
    plan: RunPlan,
    console: AgentObserver | None = None,
    *,
    redactor: Redactor | None = None,
    transport_factory: TransportFactory | None = None,
    on_started: Callable[[RunIdentity], None] | None = None,
) -> RunReport:
    """Run the plan to its end; never raises: every ending is a report with its exit code."""
    redactor = redactor or Redactor.from_environ()
    ident = RunIdentity.new(plan.task.id, history_key(plan.task))
    db = state_db_path()
    row_started = False
    targets = plan.task.notify  # the environment's own target joins once it is known to be valid
    try:
        targets = notify.run_targets(plan.task, os.environ)
        variables = run_variables(plan, ident)
        prompt = expand(plan.task.prompt, variables)
        output_schema = plan.structured_output_schema()  # a bad one stops the run before any API call
        transport = transport_factory(plan) if transport_factory else build_transport(plan, redactor)
        with _lock(plan):
            ident.restart_clock()
            redrawn = _start_row(db, ident, clock.utc_iso(ident.started), plan.effective_model, with_log=True)
            row_started = True
            if redrawn:
                variables = run_variables(plan, ident)  # {run_id} is the id the run got
                prompt = expand(plan.task.prompt, variables)
            if on_started is not None:
                on_started(ident)
            report = _run_agent(plan, ident, agent_request(plan, prompt, output_schema), transport, console, redactor)
            report = _with_commit_note(report, plan, variables, redactor)
            with interrupts_deferred():
                report = _finish_row(db, ident.run_id, report, redactor)
    except (Exception, KeyboardInterrupt) as ending:
        problem = as_bassi_error(ending, interrupted="interrupted before the run finished")
        report = report_of(ident, plan.effective_model, problem, redactor, has_log=row_started)
        report = _record_ending(db, ident, report, plan.effective_model, row_started=row_started)
    # The result is final and in the history: now, and only now, word of it goes out.
    return notify.notify_run(targets, report, redactor, os.environ)


def _finish_row(db: Path, run_id: str, report: RunReport, redactor: Redactor) -> RunReport:
    """Finish the run's history row; a successful run whose row cannot be written fails (exit 1)."""
    try:
        history.finish_run(db, run_id, _run_end(report))
    except history.HistoryError as problem:
        if report.exit_code is ExitCode.SUCCESS:
            return dataclasses.replace(report, exit_code=problem.exit_code, error=error_info(problem, redactor))
    return report


def record_failure(task: Task | None, model: str | None, ending: BaseException, redactor: Redactor) -> RunReport:
    """A run that could not start (bad workspace, bad --var, an interrupt, ...): a report, and a
    history row when the task is known."""
    ident = RunIdentity.new(task.id if task else "", history_key(task) if task else None)
    problem = as_bassi_error(ending, interrupted="interrupted before the run started")
    report = report_of(ident, model, problem, redactor, has_log=False)
    if task is None:
        return dataclasses.replace(report, task_id=None)
    report = _record_ending(state_db_path(), ident, report, model or task.model, row_started=False)
    try:
        targets = notify.run_targets(task, os.environ)
    except UsageError:  # the bad setting is what this report is about, or will be the next run's
        targets = task.notify
    return notify.notify_run(targets, report, redactor, os.environ)


def _record_ending(db: Path, ident: RunIdentity, report: RunReport, model: str, *, row_started: bool) -> RunReport:
    """The history row of a run that failed, and the report with the run id of that row. Best
    effort: the report already says what went wrong, and a second failure (a broken history)
    must not replace it."""
    with interrupts_deferred(), contextlib.suppress(Exception):
        if not row_started and _start_row(db, ident, report.started_at, model, with_log=False):
            report = dataclasses.replace(report, run_id=ident.run_id)
        history.finish_run(db, ident.run_id, _run_end(report))
    return report


RUN_ID_DRAWS = 5  # five collisions in a row are no chance: the history is broken, and says so


def _start_row(db: Path, ident: RunIdentity, started_at: str, model: str, *, with_log: bool) -> bool:
    """Insert the run's `running` row under an id no other run has; whether `ident` had to draw a
    new id for it (then what was made from the old one must be made again)."""
    first_id = ident.run_id
    for _ in range(RUN_ID_DRAWS - 1):
        with contextlib.suppress(history.RunIdTaken):
            _insert_row(db, ident, started_at, model, with_log)
            return ident.run_id != first_id
        ident.draw_new_id()
    _insert_row(db, ident, started_at, model, with_log)  # the last draw: RunIdTaken is the run's error
    return True


def _insert_row(db: Path, ident: RunIdentity, started_at: str, model: str, with_log: bool) -> None:
    history.start_run(
        db,
        run_id=ident.run_id,
        task_id=ident.task_id,
        started_at=started_at,
        model=model,
        log_path=str(ident.log_path) if with_log else None,
        task_key=ident.task_key,
    )


def run_variables(plan: RunPlan, ident: RunIdentity) -> dict[str, str]:
    """The template variables of this run: the built-ins, the task's vars, then --var."""
    task = plan.task
    last = history.last_success_started(state_db_path(), task.id, history_key(task))
    builtins = builtin_variables(
        task_id=task.id, run_id=ident.run_id, now=ident.started, zone=task.timezone, last_run=last
    )
    return merge_variables(builtins, task.vars, plan.cli_vars)


def _with_commit_note(report: RunReport, plan: RunPlan, variables: dict[str, str], redactor: Redactor) -> RunReport:
    """A successful run of a task with commit paths that changed nothing there says so (commit-back
    will commit nothing, and the exit code stays 0: the agent did finish)."""
    commit = plan.task.commit
    if report.exit_code is not ExitCode.SUCCESS or commit is None or not commit.paths:
        return report
    try:
        note = run_commit_note(commit.paths, plan.workdir, report.files_changed, variables)
    except (OSError, RuntimeError):  # an unreadable folder or a symlink loop: a remark is not worth a failed run
        return report
    return report if note is None else dataclasses.replace(report, notes=(*report.notes, redactor.text(note)))


def build_transport(plan: RunPlan, redactor: Redactor) -> Transport:
    """The real API, or a replay; wrapped in a recorder (that keeps no secret) with --record."""
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
    request: AgentRequest,
    transport: Transport,
    console: AgentObserver | None,
    redactor: Redactor,
) -> RunReport:
    transcript = TranscriptObserver(ident.log_path, redactor)
    observers = FanOut([transcript] + ([console] if console is not None else []), asker=console)
    try:
        transcript.event(
            "run_start",
            run_id=ident.run_id,
            task_id=plan.task.id,
            model=request.model,
            workdir=str(plan.workdir),
            prompt=request.prompt,
            tools=list(request.allowed_tools),
            max_turns=request.max_turns,
            max_budget_usd=request.max_budget_usd,
            timeout_s=_timeout_s(plan),
            replay=str(plan.replay) if plan.replay else None,
            mcp_servers=[server.name for server in request.mcp_servers],
            output_schema=request.output_schema,
        )
        outcome = run_agent(request, transport, observers, transcript.event)
        if isinstance(outcome.error, InternalError):
            transcript.event("crash", traceback=outcome.error.detail)
        report = report_of(ident, request.model, outcome, redactor, has_log=True)
        report = dataclasses.replace(report, files_changed=_own_files_removed(report.files_changed, plan))
        transcript.event("run_end", result=build_result(report))
    finally:
        observers.flush()  # also resumes workflow commands, so the result's annotations work
        transcript.close()
    return report


def agent_request(plan: RunPlan, prompt: str, output_schema: dict[str, Any] | None = None) -> AgentRequest:
    """The loop's request: the command line's overrides, else the task's settings."""
    task = plan.task
    return AgentRequest(
        prompt=prompt,
        model=plan.effective_model,
        workdir=plan.workdir,
        allowed_tools=plan.tools if plan.tools is not None else task.tools,
        max_turns=plan.max_turns if plan.max_turns is not None else task.limits.max_turns,
        max_budget_usd=plan.max_budget_usd if plan.max_budget_usd is not None else task.limits.max_budget_usd,
        deadline=time.monotonic() + _timeout_s(plan),
        interactive=plan.interactive,
        mcp_servers=plan.mcp_servers,
        output_schema=output_schema,
    )


def _timeout_s(plan: RunPlan) -> float:
    return plan.timeout_s if plan.timeout_s is not None else plan.task.limits.timeout_s


def _own_files_removed(files: Sequence[str], plan: RunPlan) -> list[str]:
    """Changed files minus bassi's own (history, logs, a recording) when they live in the workspace."""
    own = [bassi_home().resolve()] + ([plan.record.resolve()] if plan.record else [])
    root = plan.workdir.resolve()

    def is_own(name: str) -> bool:
        path = root / name
        return any(path == mine or mine in path.parents for mine in own)

    return [name for name in files if not is_own(name)]


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
