"""Shared by the run and execute tests: run the CLI as a user would, check results."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from bassi_ci.runs.result import result_schema

ROOT = Path(__file__).resolve().parents[2]


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


def github_commands(log: str) -> tuple[list[str], list[str]]:
    """What the GitHub runner would make of `log`: the lines it takes as workflow commands,
    and the tokens of the `::stop-commands::` blocks that kept other lines inert."""
    commands: list[str] = []
    tokens: list[str] = []
    resume: str | None = None
    for line in (raw.strip() for raw in log.splitlines()):
        if resume is not None:
            if line == resume:
                resume = None
        elif line.startswith("::stop-commands::"):
            tokens.append(line.removeprefix("::stop-commands::"))
            resume = f"::{tokens[-1]}::"
        elif line.startswith("::"):
            commands.append(line)
    return commands, tokens
