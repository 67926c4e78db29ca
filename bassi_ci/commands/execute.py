"""`bassi execute`: run a task (or an ad-hoc prompt) through the agent loop now.

Thin on purpose: parse the command line, build a RunPlan, hand it to
bassi_ci.runs.executor, then publish the RunReport. Whatever ends the run (an error, an
interrupt, a defect) ends in a result: with --ci, one JSON document on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click

from bassi_ci import output
from bassi_ci.commands.completion import complete_runnable_task
from bassi_ci.commands.execute_next import QueueChoice, refuse_with_next, run_from_queue
from bassi_ci.commands.queue_url import queue_url_option
from bassi_ci.errors import ExitCode, UsageError
from bassi_ci.procguard import hide_from_same_user
from bassi_ci.queue.worker import RunOverrides
from bassi_ci.runs.ci import (
    CiEnvironment,
    Folder,
    append_step_summary,
    error_annotation,
    format_duration,
    stop_commands,
)
from bassi_ci.runs.executor import RunPlan, execute_run, record_failure
from bassi_ci.runs.junit import write_junit
from bassi_ci.runs.observers import ConsoleObserver
from bassi_ci.runs.redact import Redactor
from bassi_ci.runs.resolve import resolve_task, task_workdir
from bassi_ci.runs.result import RunReport, build_result
from bassi_ci.signals import ignore_interrupts, interrupts_deferred
from bassi_ci.tasks.loader import load_mcp_config
from bassi_ci.tasks.mcp_servers import McpServerSpec, merge_servers
from bassi_ci.tasks.model import ALL_TOOLS, TIMEOUT_RULE, Task, duration_option, parse_tools, timeout_seconds
from bassi_ci.tasks.output_schema import OutputSchemaError, load_output_schema_file
from bassi_ci.tasks.templating import parse_vars


@dataclass(frozen=True)
class ResultOutputs:
    """Where the result of a run goes: --ci, --json and --junit."""

    ci: bool = False
    as_json: bool = False
    junit: Path | None = None

    @classmethod
    def of_unparsed(cls, command: click.Command, ctx: click.Context, args: list[str]) -> ResultOutputs:
        """--ci and --junit of a command line click could not parse, read by click's own parser
        (unknown options skipped), so that CI gets its JSON result and report even then."""
        parser = command.make_parser(ctx)
        parser.ignore_unknown_options = True
        try:
            values, _, _ = parser.parse_args(args=list(args))
        except click.UsageError:
            values = {}
        junit = values.get("junit")
        return cls(ci=bool(values.get("ci")), as_json=True, junit=Path(junit) if isinstance(junit, str) else None)


class ExecuteCommand(click.Command):
    """With --ci, even a command line click cannot parse ends in a JSON result (exit 2)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        original = list(args)  # click's parser consumes the list it is given
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as problem:
            outputs = ResultOutputs.of_unparsed(self, ctx, original)
            if not outputs.ci:
                raise
            redactor = Redactor.from_environ()
            report = record_failure(None, None, UsageError(problem.format_message()), redactor)
            raise click.exceptions.Exit(publish(report, outputs, redactor)) from None


@click.command(cls=ExecuteCommand)
@click.argument("task", required=False, shell_complete=complete_runnable_task)
@click.option("--prompt", help="What the agent should do (alone: an ad-hoc task; with TASK: replaces its prompt).")
@click.option(
    "--ci", is_flag=True, help="Unattended: no colour, no questions, progress on stderr, one JSON result on stdout."
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON result at the end (progress goes to stderr).")
@click.option("--var", "vars_", multiple=True, metavar="KEY=VALUE", help="Template variable (repeatable).")
@click.option("--wait", is_flag=True, help="If the task is already running, wait for it instead of exiting 8.")
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path), help="Save the API responses to FILE.")
@click.option(
    "--replay",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Answer from a recording instead of the API (no key, no network; tools really run).",
)
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Also write a JUnit XML report.")
@click.option("--model", help="Claude model (overrides the task's).")
@click.option("--max-turns", type=click.IntRange(min=1), help="API round trips at most.")
@click.option("--timeout", help="Wall-clock limit: seconds or e.g. 30m, 2h.")
@click.option(
    "--max-budget",
    "max_budget_usd",
    type=click.FloatRange(min=0, min_open=True),
    help="Spend at most this many US dollars.",
)
@click.option(
    "--tools",
    help=f"Comma-separated allow-list (overrides the task's): {', '.join(ALL_TOOLS)}, mcp__<server>, "
    "mcp__<server>__<tool>.",
)
@click.option(
    "--mcp-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A .mcp.json whose mcpServers the run gets besides the task's own (on a name clash the task's is used).",
)
@click.option(
    "--output-schema",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A JSON Schema file (root type object) the agent's final answer must match; it is the result's "
    "structured_output. Replaces the task's output_schema.",
)
@click.option("--next", "next_", is_flag=True, help="Run the next queue item (see 'bassi queue'); empty: status idle.")
@click.option("--drain", is_flag=True, help="Run queue items until the queue is empty (implies --next).")
@click.option("--max-items", type=click.IntRange(min=1), help="With --drain: run at most N items.")
@click.option(
    "--lease", help="With --next: how long a claimed item stays this worker's between renewals (default 60s)."
)
@queue_url_option
def execute(
    task: str | None,
    prompt: str | None,
    ci: bool,
    as_json: bool,
    vars_: tuple[str, ...],
    wait: bool,
    record: Path | None,
    replay: Path | None,
    junit: Path | None,
    model: str | None,
    max_turns: int | None,
    timeout: str | None,
    max_budget_usd: float | None,
    tools: str | None,
    mcp_config: Path | None,
    output_schema: Path | None,
    next_: bool,
    drain: bool,
    max_items: int | None,
    lease: str | None,
    queue_url: str | None,
) -> int:
    """Run TASK now: a task id, a task file, or .bassi/tasks/<TASK>.yaml of this repository.

    \b
    Exit codes: 0 success, 1 failed, 2 usage error, 3 needs input, 4 timeout,
    5 limit reached, 6 API error, 7 auth error, 8 locked, 9 forbidden,
    130 interrupted.
    """
    hide_from_same_user()  # the key stays in this process's /proc/<pid>/environ: not the agent's to read
    outputs = ResultOutputs(ci=ci, as_json=as_json, junit=junit)
    interactive = not ci and sys.stdin.isatty()
    resolved: Task | None = None
    try:  # from the first line: an interrupt or a defect, too, ends in a result
        redactor = Redactor.from_environ()
        if next_ or drain:
            refuse_with_next(
                TASK=task,
                **{
                    "--prompt": prompt,
                    "--var": vars_,
                    "--record": record,
                    "--wait": wait,
                    "--mcp-config": mcp_config,
                    "--output-schema": output_schema,
                },
            )
            if drain and junit is not None:
                raise UsageError("--junit: not with --drain, which runs many items (use --next for one)")
            return run_from_queue(
                QueueChoice.of(drain, max_items, _seconds(lease, "--lease"), queue_url),
                RunOverrides(model, max_turns, _seconds(timeout), max_budget_usd, parse_tools(tools), replay),
                lambda: _console(outputs, redactor, interactive),
                redactor,
                _human_stream(outputs),
                lambda report: publish(report, outputs, redactor),
                summary_lines,
                as_json=ci or as_json,
            )
        if max_items is not None or lease is not None or queue_url is not None:
            raise UsageError("--max-items, --lease and --queue-url work with --next (bassi execute --next --drain)")
        cwd = Path.cwd()
        resolved = resolve_task(task, prompt, cwd)
        plan = RunPlan(
            task=resolved,
            workdir=task_workdir(resolved, cwd),
            cli_vars=parse_vars(vars_, check_names=True),
            model=model,
            max_turns=max_turns,
            timeout_s=_seconds(timeout),
            max_budget_usd=max_budget_usd,
            wait=wait,
            tools=parse_tools(tools),
            record=record,
            replay=replay,
            interactive=interactive,
            adhoc=task is None,
            mcp_config=_mcp_config(mcp_config, resolved),
            output_schema=_output_schema(output_schema),
        )
        report = execute_run(plan, _console(outputs, redactor, interactive), redactor=redactor)
    except (Exception, KeyboardInterrupt) as ending:
        redactor = Redactor.from_environ()
        report = record_failure(resolved, model, ending, redactor)
    return publish(report, outputs, redactor)


def _mcp_config(path: Path | None, task: Task) -> tuple[McpServerSpec, ...]:
    """The servers of --mcp-config; a name the task uses itself keeps the task's definition (said on stderr)."""
    if path is None:
        return ()
    servers = load_mcp_config(path)
    for name in merge_servers(task.mcp_servers, servers)[1]:
        output.note(f"bassi: note: --mcp-config {path}: the task defines the MCP server '{name}' itself; that is used")
    return servers


def _output_schema(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        return load_output_schema_file(path)
    except OutputSchemaError as problem:
        raise OutputSchemaError(f"--output-schema {problem}") from None


def _seconds(timeout: str | None, option: str = "--timeout") -> float | None:
    value = duration_option(timeout.strip() if timeout is not None else None)
    if value is None:
        return None
    try:
        return float(timeout_seconds(value))
    except ValueError:
        raise UsageError(f"{option} {timeout!r}: expected {TIMEOUT_RULE}") from None


def _console(outputs: ResultOutputs, redactor: Redactor, interactive: bool) -> ConsoleObserver:
    stream = _human_stream(outputs)
    return ConsoleObserver(
        stream,
        redactor,
        color=not outputs.ci and stream.isatty() and "NO_COLOR" not in os.environ,
        folder=Folder(CiEnvironment.detect(os.environ)),
        answers=sys.stdin if interactive else None,
    )


def _human_stream(outputs: ResultOutputs) -> IO[str]:
    return sys.stderr if outputs.ci or outputs.as_json else sys.stdout


def publish(report: RunReport, outputs: ResultOutputs, redactor: Redactor) -> int:
    """The end of every run: summary line, CI annotation, the JSON result, then the report files,
    whose failure is a warning: it changes neither the result nor the exit code. Returns the
    exit code; from here on interrupts are ignored, so the process exits with that code."""
    with interrupts_deferred():
        _publish(report, outputs, redactor)
    ignore_interrupts()
    return int(report.exit_code)


def _publish(report: RunReport, outputs: ResultOutputs, redactor: Redactor) -> None:
    env = CiEnvironment.detect(os.environ)
    # Without --ci the summary of a failed run is an error message: stderr, as for any command.
    human = _human_stream(outputs) if report.exit_code is ExitCode.SUCCESS else sys.stderr
    lines = [redactor.text(line) for line in summary_lines(report)]
    if env.github:  # the error message may quote the model: no workflow commands in it
        stop, resume = stop_commands()
        lines = [stop, *lines, resume]
    output.write(human, "".join(line + "\n" for line in lines))
    if env.github and report.error is not None:
        annotation = error_annotation(redactor.text(report.error.message), title=f"bassi {report.status}")
        output.write(sys.stderr, annotation + "\n")
    document = redactor.data(build_result(report))
    if outputs.ci or outputs.as_json:
        output.write(sys.stdout, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    if env.github and env.step_summary:
        _write_extra("step summary", env.step_summary, lambda: append_step_summary(str(env.step_summary), report))
    junit = outputs.junit
    if junit is not None:
        _write_extra("JUnit report", junit, lambda: write_junit(document, junit))


def _write_extra(what: str, path: str | Path, write: Callable[[], None]) -> None:
    try:
        write()
    except OSError as problem:
        sys.stderr.write(f"bassi: warning: cannot write the {what} {path}: {problem.strerror or problem}\n")
        sys.stderr.flush()


def summary_lines(report: RunReport) -> list[str]:
    mark = "✓" if report.exit_code is ExitCode.SUCCESS else "✗"
    turns = "1 turn" if report.num_turns == 1 else f"{report.num_turns} turns"
    lines = [
        f"{mark} {report.status} (exit {int(report.exit_code)}) · {turns} · "
        f"{report.total_tokens:,} tokens · ${report.total_cost_usd:.4f} · {format_duration(report.duration_ms)}"
    ]
    if report.error is not None:
        lines.append(f"  {report.error.type}: {report.error.message}")
    lines += [f"  note: {note}" for note in report.notes]
    if report.log_path:
        lines.append(f"  log: {report.log_path}")
    return lines
