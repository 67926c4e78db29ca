"""`bassi scheduler run`: the foreground scheduler (bassi_ci.scheduling.foreground) as a command."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import click

from bassi_ci import output
from bassi_ci.errors import ExitCode
from bassi_ci.scheduling.foreground import (
    ForegroundScheduler,
    Hooks,
    run_loop,
    run_once,
    signal_waker,
    start_execute,
    store_last_starts,
)
from bassi_ci.tasks.model import parse_duration
from bassi_ci.tasks.store import TaskStore

DEFAULT_GRACE = "30s"


@click.group(name="scheduler")
def scheduler() -> None:
    """Run due tasks from this process, for machines without a scheduler (containers)."""


@scheduler.command(name="run")
@click.option("--once", is_flag=True, help="Start the tasks due now (and catch-ups), wait for them, exit.")
@click.option(
    "--tasks-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    metavar="DIR",
    help="Read the tasks from DIR instead of BASSI_HOME/tasks.",
)
@click.option(
    "--grace",
    default=DEFAULT_GRACE,
    show_default=True,
    metavar="DURATION",
    help="On SIGTERM or Ctrl-C: how long running tasks may go on (seconds, or e.g. 90s, 2m) before they get SIGTERM.",
)
def run(once: bool, tasks_dir: Path | None, grace: str) -> int:
    """Run every due task as `bassi execute --ci`, one run at a time per task.

    Tasks are read again at every tick (at least once a minute), so `bassi schedule add`,
    `edit` and `pause` take effect without a restart. Each decision is one line on stderr.
    A task with `catch_up: true` whose due time passed while no scheduler was running (since
    its last run) runs once at start. Each run's own output goes to
    BASSI_HOME/logs/<task>/scheduler-<time>.log; its result is in `bassi history`.

    \b
    Without --once: runs until SIGTERM or Ctrl-C; then it starts nothing
    more, gives running tasks --grace, stops the rest (SIGTERM, SIGKILL
    10 s later) and exits 0. A second Ctrl-C ends the wait at once.
    With --once: exit 0 when every run it started succeeded (or nothing
    was due), 1 when one failed, could not start or was interrupted.
    """
    grace_s = _grace_seconds(grace)
    store = TaskStore(tasks_dir.absolute()) if tasks_dir is not None else TaskStore()
    cwd = Path.cwd()
    hooks = Hooks(
        read_tasks=store.entries,
        last_starts=store_last_starts,
        start=partial(start_execute, cwd=cwd),
        log=_log_line,
    )
    foreground = ForegroundScheduler(hooks)
    with signal_waker() as waker:
        if once:
            return ExitCode.FAILED if run_once(foreground, waker, grace_s) else ExitCode.SUCCESS
        run_loop(foreground, waker, grace_s)
    return ExitCode.SUCCESS


def _log_line(line: str) -> None:
    output.write(sys.stderr, line + "\n")


def _grace_seconds(text: str) -> float:
    value = text.strip()
    try:
        return float(int(value)) if value.isdigit() else float(parse_duration(value))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a duration; use seconds (e.g. 30) or e.g. 90s, 2m", param_hint="--grace"
        ) from None
