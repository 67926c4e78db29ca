"""The one error and interrupt policy of a `bassi` process, entered once, in bassi_ci.cli.main.

From the first moment, SIGTERM stops the process like Ctrl-C (a KeyboardInterrupt), so a
run still writes its result. What reaches this point becomes one line and an exit code,
mapped by errors.as_bassi_error: a BassiError its own code, an interrupt 130, click's usage
errors 2, and anything else, a defect, 1 with the traceback in BASSI_HOME/logs/crash.log.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from bassi_ci.errors import BassiError, ExitCode, InternalError, as_bassi_error
from bassi_ci.home import logs_dir
from bassi_ci.signals import interrupt_policy

# click 8.2+ raises this usage error for a group run without a command (8.1 exits 0 itself).
_NO_ARGS_IS_HELP: type[click.UsageError] | tuple[()] = getattr(click.exceptions, "NoArgsIsHelpError", ())


def run_with_error_handling(command: click.Command, args: list[str]) -> NoReturn:
    with interrupt_policy():
        try:
            # standalone_mode=False hands exceptions to us; a command may return its exit code.
            result = command.main(args=args, prog_name="bassi", standalone_mode=False)
        except _NO_ARGS_IS_HELP as exc:  # bare `bassi` (or `bassi ci`): the help was asked for
            click.echo(exc.ctx.get_help() if exc.ctx else "")
            sys.exit(ExitCode.SUCCESS)
        except click.ClickException as exc:
            exc.show()
            sys.exit(ExitCode.USAGE_ERROR if isinstance(exc, click.UsageError) else exc.exit_code)
        except BrokenPipeError:
            sys.exit(ExitCode.FAILED)
        except click.exceptions.Abort:  # click's form of Ctrl-C
            fail(as_bassi_error(KeyboardInterrupt()))
        except (Exception, KeyboardInterrupt) as ending:
            fail(as_bassi_error(ending))
        sys.exit(result if isinstance(result, int) else ExitCode.SUCCESS)


def fail(problem: BassiError) -> NoReturn:
    message = str(problem)
    if isinstance(problem, InternalError):
        message += _crash_logged(problem.detail)
    click.echo(f"bassi: error: {message}", err=True)
    sys.exit(int(problem.exit_code))


def _crash_logged(detail: str) -> str:
    """Keep a defect's traceback for the bug report, without a wall of text on the terminal."""
    crash = logs_dir() / "crash.log"
    try:
        crash.parent.mkdir(parents=True, exist_ok=True)
        with crash.open("a", encoding="utf-8") as handle:
            handle.write(detail + "\n")
    except OSError:
        return ""
    return f" (details in {crash})"
