"""The root `bassi` command group; each sub-command lives in bassi_ci/commands/ and is
imported only when it runs (see bassi_ci.commands.lazy)."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from bassi_ci import __version__
from bassi_ci.commands.lazy import LazyCommand, LazyGroup
from bassi_ci.error_handler import run_with_error_handling

COMMANDS = {
    "ci": LazyCommand("bassi_ci.commands.ci:ci", "Run tasks in CI: generate pipelines, commit results back."),
    "execute": LazyCommand(
        "bassi_ci.commands.execute:execute",
        "Run TASK now: a task id, a task file, or .bassi/tasks/<TASK>.yaml of this repository.",
    ),
    "history": LazyCommand(
        "bassi_ci.commands.history:history", "Show past runs of TASK (or of every task), newest first."
    ),
    "mcp": LazyCommand("bassi_ci.commands.mcp:mcp", "Model Context Protocol servers of bassi."),
    "queue": LazyCommand(
        "bassi_ci.commands.queue:queue", "Queue work for `bassi execute --next` and `bassi mcp serve`."
    ),
    "notify": LazyCommand("bassi_ci.commands.notify:notify", "Try the webhooks that tell people how runs ended."),
    "schedule": LazyCommand("bassi_ci.commands.schedule:schedule", "Manage scheduled tasks and preview schedules."),
    "scheduler": LazyCommand(
        "bassi_ci.commands.scheduler:scheduler",
        "Run due tasks from this process, for machines without a scheduler (containers).",
    ),
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="bassi")
def cli() -> None:
    """Run Claude agent tasks on a schedule or in CI.

    \b
    Quick start:
      bassi schedule add weekly-report --when "monday 09:00" --prompt "Summarise last week"
      bassi schedule list
      bassi execute weekly-report --ci
    """


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point of the `bassi` console script: one error and interrupt policy for the process."""
    run_with_error_handling(cli, argv if argv is not None else sys.argv[1:])
