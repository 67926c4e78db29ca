"""The one place where failures turn into a message and an exit code (for people)."""

from __future__ import annotations

import sys
import traceback
from typing import NoReturn

import click

from bassi_ci.errors import BassiError, ExitCode


def run_with_error_handling(command: click.Command, args: list[str]) -> NoReturn:
    try:
        # standalone_mode=False hands exceptions to us; a command may return its exit code.
        result = command.main(args=args, prog_name="bassi", standalone_mode=False)
    except BassiError as exc:
        fail(str(exc), exc.exit_code)
    except click.exceptions.Abort:
        fail("interrupted", ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE_ERROR if isinstance(exc, click.UsageError) else exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", ExitCode.INTERRUPTED)
    except BrokenPipeError:
        sys.exit(ExitCode.FAILED)
    except Exception as exc:  # the last line of defence: a bug, shown without a wall of text
        _report_bug(exc)
    sys.exit(result if isinstance(result, int) else ExitCode.SUCCESS)


def fail(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"bassi: error: {message}", err=True)
    sys.exit(int(code))


def _report_bug(exc: Exception) -> NoReturn:
    from bassi_ci.home import logs_dir

    detail = "".join(traceback.format_exception(exc))
    where = ""
    try:
        logs_dir().mkdir(parents=True, exist_ok=True)
        crash = logs_dir() / "crash.log"
        with crash.open("a", encoding="utf-8") as handle:
            handle.write(detail + "\n")
        where = f" (details in {crash})"
    except OSError:
        pass
    fail(f"unexpected error: {type(exc).__name__}: {exc}{where}", ExitCode.FAILED)
