"""End to end: the generated GitLab job runs under gitlab-ci-local (shell executor, no image)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.fakeapi import FakeMessagesAPI, from_script
from tests.generators.helpers import generate, load_yaml, write_task
from tests.oracles import requires

ROOT = Path(__file__).resolve().parents[2]
# gitlab-ci-local also needs rsync; both are checked before the fake API server starts.
pytestmark = [pytest.mark.slow, requires("gitlab-ci-local", "rsync")]


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, capture_output=True, check=True
    )


def test_generated_job_runs_in_a_scheduled_pipeline(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    tool = shutil.which("gitlab-ci-local")
    assert tool is not None  # the module is marked requires("gitlab-ci-local")
    repo = tmp_path / "repo"
    repo.mkdir()
    write_task(
        repo,
        "nightly.yaml",
        id="nightly",
        prompt="Write the nightly note",
        schedule="daily 02:30",
        timezone="Europe/Berlin",
    )
    # The job's install step puts this checkout's `bassi` on PATH (no build, no download); the
    # default install command is `pip install bassi-ci`.
    bin_dir = tmp_path / "bin"
    shim = f'#!/bin/sh\\nexec {sys.executable} -m bassi_ci "$@"\\n'
    install = (
        f"mkdir -p {bin_dir} && printf '{shim}' > {bin_dir}/bassi"
        f" && chmod +x {bin_dir}/bassi && export PATH={bin_dir}:$PATH PYTHONPATH={ROOT}"
    )
    code, _, err = generate(repo, "--target", "gitlab", "--gitlab-image", "", "--install-command", install)
    assert code == 0, err
    (repo / ".gitlab-ci.yml").write_text("include:\n  - local: .gitlab/bassi.gitlab-ci.yml\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "ci")
    assert "bassi-nightly" in load_yaml(repo / ".gitlab/bassi.gitlab-ci.yml")

    fake_api.enqueue(
        from_script({"type": "tool_use", "calls": [["bash", {"command": "echo note > note.txt"}]]}),
        from_script({"type": "text", "text": "nightly done"}),
    )
    variables = {
        "CI_PIPELINE_SOURCE": "schedule",
        "BASSI_TASK": "nightly",
        "ANTHROPIC_BASE_URL": fake_api.base_url,
        "ANTHROPIC_API_KEY": "fake-key-gitlab",
        "BASSI_HOME": str(tmp_path / "bassi-home"),
    }
    args = [tool]
    for key, value in variables.items():
        args += ["--variable", f"{key}={value}"]
    proc = subprocess.run([*args, "bassi-nightly"], cwd=repo, capture_output=True, text=True, check=False, timeout=240)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "nightly done" in log

    artifacts = repo / ".gitlab-ci-local" / "artifacts" / "bassi-nightly"
    result_files = list(artifacts.rglob("bassi-result.json"))
    assert result_files, f"no result artifact under {artifacts}"
    result = json.loads(result_files[0].read_text())
    assert result["status"] == "success" and result["task_id"] == "nightly"
    junit = ET.parse(next(artifacts.rglob("bassi-junit.xml"))).getroot()
    assert junit.get("failures") == "0"

    # Without the schedule variable the job is not part of the pipeline at all.
    proc = subprocess.run([tool, "--list"], cwd=repo, capture_output=True, text=True, check=False, timeout=120)
    assert "bassi-nightly" not in proc.stdout
