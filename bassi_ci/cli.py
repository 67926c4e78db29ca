"""The root `bassi` command group; each sub-group lives in bassi_ci/commands/."""

from __future__ import annotations

import sys
from typing import Any

import click

from bassi_ci import __version__
from bassi_ci.commands.ci import ci
from bassi_ci.commands.execute import execute
from bassi_ci.commands.history import history
from bassi_ci.commands.schedule import schedule


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="bassi")
def cli() -> None:
    """Run Claude agent tasks on a schedule or in CI.

    \b
    Quick start:
      bassi schedule add weekly-report --when "monday 09:00" --prompt "Summarise last week"
      bassi schedule list
      bassi execute weekly-report --ci
    """


cli.add_command(schedule)
cli.add_command(execute)
cli.add_command(history)
cli.add_command(ci)


def main(argv: list[str] | None = None) -> Any:
    """Entry point of the `bassi` console script: errors become one line and an exit code."""
    from bassi_ci.commands.errors import run_with_error_handling

    return run_with_error_handling(cli, argv if argv is not None else sys.argv[1:])
