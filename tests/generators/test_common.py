"""What the GitLab and Jenkins jobs share: pull requests are refused for Jenkins alone."""

from __future__ import annotations

from pathlib import Path

from tests.cli import run_cli
from tests.generators.helpers import custom_tasks


def test_pull_requests_are_refused_for_jenkins(tmp_path: Path) -> None:
    folder = custom_tasks(tmp_path, paths=["reports/"], pull_request=True)
    code, _, err = run_cli("ci", "generate", "--target", "jenkins", "--tasks-dir", str(folder), "--out", str(tmp_path))
    assert code == 2 and "weekly" in err and "pull_request" in err
    assert "--target github or gitlab" in err and err.count("\n") == 1
    assert not (tmp_path / "jenkins").exists()
