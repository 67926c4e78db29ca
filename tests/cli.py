"""Run `bassi` in the test process through its real entry point (error handling included)."""

from __future__ import annotations

from click.testing import CliRunner

from bassi_ci.cli import main


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `bassi ARGS`."""
    runner = CliRunner()
    with runner.isolation(input=stdin, env=env) as (out, err, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue().decode(), err.getvalue().decode()
