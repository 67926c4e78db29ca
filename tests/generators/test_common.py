"""What the GitLab and Jenkins jobs share: pull requests are refused outside GitHub."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.generators.helpers import GITLAB, custom_tasks


@pytest.mark.parametrize("target", ["gitlab", "jenkins"])
def test_pull_requests_are_refused_outside_github(tmp_path: Path, target: str) -> None:
    folder = custom_tasks(tmp_path, paths=["reports/"], pull_request=True)
    code, _, err = run_cli("ci", "generate", "--target", target, "--tasks-dir", str(folder), "--out", str(tmp_path))
    assert code == 2 and "weekly" in err and "pull_request" in err
    assert not (tmp_path / GITLAB).exists() and not (tmp_path / "jenkins").exists()
