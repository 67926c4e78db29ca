"""The suite must never touch the real home directory (see tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bassi_ci.home import bassi_home
from tests.conftest import REAL_HOME


def test_bassi_home_points_into_a_temporary_folder(isolated_home: Path) -> None:
    assert bassi_home() == isolated_home
    assert REAL_HOME not in bassi_home().parents
    assert Path(os.environ["HOME"]) != REAL_HOME


def test_a_real_command_writes_only_under_the_test_home(isolated_home: Path) -> None:
    real_bassi = REAL_HOME / ".bassi"
    existed = real_bassi.exists()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bassi_ci",
            "schedule",
            "add",
            "iso",
            "--when",
            "daily 09:00",
            "--prompt",
            "p",
            "--tz",
            "UTC",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (isolated_home / "tasks" / "iso.yaml").exists()
    assert real_bassi.exists() == existed
