"""Run `bassi` as a user would — in the test process through its real entry point, or as a child
process (for signals and kills) — and check its results and history rows."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from jsonschema import Draft202012Validator, FormatChecker

from bassi_ci.cli import main
from bassi_ci.runs.result import result_schema


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


ROOT = Path(__file__).resolve().parents[1]


def check_result(stdout: str) -> dict[str, Any]:
    """stdout holds exactly one JSON document, valid against result.schema.json."""
    document: dict[str, Any] = json.loads(stdout)
    Draft202012Validator(result_schema(), format_checker=FormatChecker()).validate(document)
    return document


def history_row(home: Path, run_id: str) -> dict[str, Any]:
    with sqlite3.connect(home / "state.db") as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    assert row is not None, f"no history row for {run_id}"
    return dict(row)


def bassi_process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m bassi_ci ARGS` as a child process (for signals and kills)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bassi_ci", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
