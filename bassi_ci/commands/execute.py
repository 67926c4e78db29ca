"""`bassi execute`: run a task (or an ad-hoc prompt) through the agent loop now.

Thin on purpose: parse the command line, build a RunPlan, hand it to
bassi_ci.runs.executor, then show the RunReport. The anthropic SDK is imported only
when a real API run starts, so `bassi --help` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

from bassi_ci.errors import BassiError, ExitCode, Interrupted, UsageError
from bassi_ci.runs.signals import interrupts_deferred, sigterm_interrupts
from bassi_ci.tasks.model import ALL_TOOLS

if TYPE_CHECKING:
    from bassi_ci.runs.redact import Redactor
    from bassi_ci.runs.result import RunReport
    from bassi_ci.tasks.model import Task

# The run machinery (executor, history, YAML, …) is imported inside the functions
# below, so that `bassi --help` and the other commands do not pay for it at start-up.

_EXIT_CODE = "bassi_execute_exit_code"  # in ctx.meta once the result is out


class ExecuteCommand(click.Command):
    """SIGTERM stops `execute` like Ctrl-C from the moment its command line is parsed, so even
    an early one ends in a result; with --ci, so does a command line click cannot parse (exit 2)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Before the run machinery is imported, which takes a while; undone when ctx closes.
        ctx.with_resource(sigterm_interrupts())
        original = list(args)  # click's parser consumes the list it is given
        try:
            return super().parse_args(ctx, args)
        except BaseException as problem:  # a usage error, or --help's Exit
            ctx.close()  # click closes only the context of a command line it parsed
            if not isinstance(problem, click.UsageError) or not _asks_for_ci(original):
                raise
            _end_early(UsageError(problem.format_message()), ci=True, as_json=True, junit=_junit_arg(original))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # before `execute` could handle it, or after its result was out
            if _EXIT_CODE in ctx.meta:
                return ctx.meta[_EXIT_CODE]
            params = ctx.params
            _end_early(
                Interrupted("interrupted before the run started"),
                ci=params["ci"],
                as_json=params["as_json"],
                junit=params["junit"],
            )


def _end_early(problem: BassiError, *, ci: bool, as_json: bool, junit: Path | None) -> NoReturn:
    """The result of a run that never started."""
    with interrupts_deferred():
        from bassi_ci.runs.executor import record_failure
        from bassi_ci.runs.redact import Redactor

        redactor = Redactor.from_environ()
        report = record_failure(None, None, problem, redactor)
        _publish(report, ci=ci, as_json=as_json, junit=junit, redactor=redactor)
    raise click.exceptions.Exit(int(report.exit_code))


def _asks_for_ci(args: Sequence[str]) -> bool:
    return "--ci" in _options_part(args)


def _junit_arg(args: Sequence[str]) -> Path | None:
    """--junit FILE from a command line that did not parse, so CI still gets its report."""
    options = _options_part(args)
    for index, arg in enumerate(options):
        if arg.startswith("--junit="):
            return Path(arg.split("=", 1)[1])
        if arg == "--junit" and index + 1 < len(options):
            return Path(options[index + 1])
    return None


def _options_part(args: Sequence[str]) -> Sequence[str]:
    return args[: list(args).index("--")] if "--" in args else args


@click.command(cls=ExecuteCommand)
@click.argument("task", required=False)
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
@click.option("--tools", help=f"Comma-separated allow-list (overrides the task's): {', '.join(ALL_TOOLS)}.")
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
) -> int:
    """Run TASK now: a task id, a task file, or .bassi/tasks/<TASK>.yaml of this repository.

    \b
    Exit codes: 0 success, 1 failed, 2 usage error, 3 needs input, 4 timeout,
    5 limit reached, 6 API error, 7 auth error, 8 locked, 130 interrupted.
    """
    # SIGTERM already raises KeyboardInterrupt here (see ExecuteCommand.parse_args).
    from bassi_ci.runs.executor import RunPlan, crash_report, execute_run, record_failure
    from bassi_ci.runs.redact import Redactor

    redactor = Redactor.from_environ()
    interactive = not ci and sys.stdin.isatty()
    cwd = Path.cwd()
    resolved: Task | None = None
    try:
        from bassi_ci.runs.resolve import resolve_task, task_workdir
        from bassi_ci.runs.templating import parse_vars
        from bassi_ci.tasks.model import parse_tools

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
        )
    except BassiError as problem:
        report = record_failure(resolved, model, problem, redactor)
    except KeyboardInterrupt:
        report = record_failure(resolved, model, Interrupted("interrupted before the run started"), redactor)
    except Exception as bug:  # a defect must not break the one-JSON-result contract
        report = crash_report(resolved, model, bug, redactor)
    else:
        console = _console(ci, as_json, redactor, interactive)
        try:
            report = execute_run(plan, console, redactor=redactor)
        except Exception as bug:
            report = crash_report(resolved, model, bug, redactor)
    with interrupts_deferred():
        _publish(report, ci=ci, as_json=as_json, junit=junit, redactor=redactor)
        click.get_current_context().meta[_EXIT_CODE] = int(report.exit_code)
    return int(report.exit_code)


def _seconds(timeout: str | None) -> float | None:
    from bassi_ci.tasks.model import duration_option, parse_duration

    value = duration_option(timeout)
    if value is None:
        return None
    try:
        return float(parse_duration(value.strip() if isinstance(value, str) else value))
    except ValueError:
        raise UsageError(f"--timeout {timeout!r}: expected seconds or a duration such as 30m, 2h, 90s") from None


def _console(ci: bool, as_json: bool, redactor: Redactor, interactive: bool) -> Any:
    from bassi_ci.runs.ci import CiEnvironment, Folder
    from bassi_ci.runs.observers import ConsoleObserver

    stream: IO[str] = sys.stderr if ci or as_json else sys.stdout
    return ConsoleObserver(
        stream,
        redactor,
        color=not ci and stream.isatty() and "NO_COLOR" not in os.environ,
        folder=Folder(CiEnvironment.detect(os.environ)),
        answers=sys.stdin if interactive else None,
    )


def _publish(report: RunReport, *, ci: bool, as_json: bool, junit: Path | None, redactor: Redactor) -> None:
    """The end of every run: summary line, CI annotation, the JSON result, then the report files,
    whose failure is a warning: it changes neither the result nor the exit code."""
    from bassi_ci.runs.ci import CiEnvironment, append_step_summary, error_annotation, stop_commands
    from bassi_ci.runs.result import build_result

    env = CiEnvironment.detect(os.environ)
    human = sys.stderr if ci or as_json else sys.stdout
    lines = [redactor.text(line) for line in summary_lines(report)]
    if env.github:  # the error message may quote the model: no workflow commands in it
        stop, resume = stop_commands()
        lines = [stop, *lines, resume]
    human.write("".join(line + "\n" for line in lines))
    human.flush()
    if env.github and report.error is not None:
        sys.stderr.write(error_annotation(redactor.text(report.error.message), title=f"bassi {report.status}") + "\n")
        sys.stderr.flush()
    document = redactor.data(build_result(report))
    if ci or as_json:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    if env.github and env.step_summary:
        _write_extra("step summary", env.step_summary, lambda: append_step_summary(str(env.step_summary), report))
    if junit is not None:
        from bassi_ci.runs.junit import write_junit

        _write_extra("JUnit report", junit, lambda: write_junit(document, junit))


def _write_extra(what: str, path: str | Path, write: Callable[[], None]) -> None:
    try:
        write()
    except OSError as problem:
        sys.stderr.write(f"bassi: warning: cannot write the {what} {path}: {problem.strerror or problem}\n")
        sys.stderr.flush()


def summary_lines(report: RunReport) -> list[str]:
    from bassi_ci.runs.ci import format_duration

    mark = "✓" if report.exit_code is ExitCode.SUCCESS else "✗"
    lines = [
        f"{mark} {report.status} (exit {int(report.exit_code)}) · {report.num_turns} turns · "
        f"{report.total_tokens:,} tokens · ${report.total_cost_usd:.4f} · {format_duration(report.duration_ms)}"
    ]
    if report.error is not None:
        lines.append(f"  {report.error.type}: {report.error.message}")
    if report.log_path:
        lines.append(f"  log: {report.log_path}")
    return lines
