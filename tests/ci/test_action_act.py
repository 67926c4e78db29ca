"""End to end under act: the composite action runs for real (install, run, outputs, commit-back).

act runs the workflow on this machine (`-P ubuntu-latest=-self-hosted`); actions/checkout
is served from the local repository and `uses: ./` runs action.yml. actions/setup-python
(only used when `python-version` is set) cannot be downloaded here, so act is pointed at a
no-op stand-in for it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.ci.fakegithub import FakeGitHub
from tests.fakeapi import FakeMessagesAPI
from tests.oracles import requires
from tests.runs.receiver import running_receiver

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, requires("act")]

SETUP_PYTHON_STUB = {
    "name": "setup-python stand-in",
    "description": "no-op under act",
    "inputs": {"python-version": {"description": "ignored", "required": False}},
    "runs": {"using": "composite", "steps": [{"shell": "bash", "run": "echo setup-python stand-in"}]},
}


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A copy of this repository (working tree, not history) with a bare `origin`."""
    work = tmp_path / "work"
    ignore = shutil.ignore_patterns(
        ".git",
        "*_cache",
        "__pycache__",
        ".hypothesis",
        ".benchmarks",
        "*.egg-info",
        ".venv",
        "node_modules",
        ".gitlab-ci-local",
    )
    shutil.copytree(ROOT, work, ignore=ignore)
    if not (work / "README.md").exists():  # pyproject.toml names it; the package cannot be built without it
        (work / "README.md").write_text("# bassi-ci\n")
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "snapshot")
    git(work, "push", "-q", "origin", "main")
    return work


def fakeapi_alive(pid: int) -> bool:
    """Whether `pid` is still a fake API server (not a recycled pid of some other process)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"tests.fakeapi" in cmdline


def recorded_pids(pid_file: Path) -> list[int]:
    if not pid_file.exists():
        return []
    return [int(word) for word in pid_file.read_text().split() if word.isdigit()]


@pytest.fixture
def fakeapi_pid_file(tmp_path: Path) -> Iterator[Path]:
    """Where the workflow records its fake API server; whatever is still running at teardown is stopped."""
    pid_file = tmp_path / "fakeapi.pid"
    yield pid_file
    for pid in recorded_pids(pid_file):
        if fakeapi_alive(pid):
            os.kill(pid, signal.SIGTERM)


def assert_server_stopped(pid_file: Path) -> None:
    """The workflow's own "Stop the fake Messages API" step did its job."""
    pids = recorded_pids(pid_file)
    assert pids, "the workflow did not record the fake API server's pid"
    deadline = time.monotonic() + 5
    while any(fakeapi_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(fakeapi_alive(pid) for pid in pids), "the workflow left its fake API server running"


def act(
    repo: Path, workflow: str, tmp_path: Path, *extra: str, event: str = "workflow_dispatch"
) -> subprocess.CompletedProcess[str]:
    stub = tmp_path / "setup-python-stub"
    stub.mkdir(exist_ok=True)
    (stub / "action.yml").write_text(yaml.safe_dump(SETUP_PYTHON_STUB))
    return subprocess.run(
        [
            "act",
            event,
            "-W",
            workflow,
            "-P",
            "ubuntu-latest=-self-hosted",
            "--local-repository",
            f"actions/setup-python@v6={stub}",
            "--env",
            f"FAKEAPI_PID_FILE={tmp_path / 'fakeapi.pid'}",
            *extra,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )


def test_self_test_workflow_under_act(repo_copy: Path, tmp_path: Path, fakeapi_pid_file: Path) -> None:
    proc = act(repo_copy, ".github/workflows/self-test.yml", tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "self-test passed: success, 2 turns" in log
    assert_server_stopped(fakeapi_pid_file)


def test_action_commits_back_under_act(repo_copy: Path, tmp_path: Path, fakeapi_pid_file: Path) -> None:
    work = repo_copy
    (work / ".bassi" / "tasks").mkdir(parents=True)
    (work / ".bassi" / "tasks" / "e2e.yaml").write_text(
        "id: e2e\nprompt: write the report\ncommit:\n  paths: ['reports/*.md']\n  message: 'e2e: {task_id}'\n"
    )
    script = [
        {
            "type": "tool_use",
            "calls": [["bash", {"command": "mkdir -p reports && echo e2e > reports/e2e.md && echo no > stray.txt"}]],
        },
        {"type": "text", "text": "report done"},
    ]
    (work / ".github" / "e2e-script.json").write_text(json.dumps(script))
    self_test = yaml.safe_load((work / ".github/workflows/self-test.yml").read_text())
    steps = self_test["jobs"]["self-test"]["steps"]
    start_server = next(step for step in steps if step.get("name") == "Start the fake Messages API")
    start_server["run"] = start_server["run"].replace(".github/self-test/script.json", ".github/e2e-script.json")
    stop_server = next(step for step in steps if step.get("name") == "Stop the fake Messages API")
    outputs_file = tmp_path / "outputs.json"
    config_copy, token_seen = tmp_path / "git-config-after.txt", tmp_path / "token-seen"
    workflow = {
        "name": "e2e commit-back",
        "on": {"workflow_dispatch": {}},
        "permissions": {"contents": "write"},
        "jobs": {
            "e2e": {
                "runs-on": "ubuntu-latest",
                "steps": [
                    {"uses": "actions/checkout@v5", "with": {"persist-credentials": False}},
                    start_server,
                    {
                        "id": "bassi",
                        "uses": "./",
                        "with": {
                            "task": "e2e",
                            "anthropic-api-key": "fake-key-e2e",
                            "commit": "true",
                            "python-version": "3.11",
                        },
                    },
                    {
                        "env": {"OUTPUTS": "${{ toJSON(steps.bassi.outputs) }}", "OUTPUTS_FILE": str(outputs_file)},
                        "run": 'printf "%s" "$OUTPUTS" > "$OUTPUTS_FILE"',
                    },
                    {
                        "env": {
                            "CONFIG_COPY": str(config_copy),
                            "TOKEN_SEEN": str(token_seen),
                            "TOKEN": "${{ github.token }}",
                        },
                        "run": 'cp .git/config "$CONFIG_COPY"; if [ -n "$TOKEN" ]; then echo yes > "$TOKEN_SEEN"; fi',
                    },
                    stop_server,
                ],
            }
        },
    }
    (work / ".github/workflows/e2e.yml").write_text(yaml.safe_dump(workflow, sort_keys=False))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "e2e task")
    git(work, "push", "-q", "origin", "main")
    before = git(work, "rev-parse", "HEAD")

    token = "ghs_" + "ActE2eWorkflowT0ken" * 2
    proc = act(work, ".github/workflows/e2e.yml", tmp_path, "-s", f"GITHUB_TOKEN={token}")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert_server_stopped(fakeapi_pid_file)
    # The workflow had a token and commit-back pushed with it, yet it never reached .git/config.
    assert token_seen.read_text().strip() == "yes"
    config = config_copy.read_text()
    assert token not in config and "extraheader" not in config
    assert token not in log
    outputs = json.loads(outputs_file.read_text())
    assert outputs["status"] == "success" and outputs["exit-code"] == "0"
    assert outputs["result"] == "report done"
    bare = tmp_path / "origin.git"
    assert outputs["commit-sha"] == git(bare, "rev-parse", "main")
    assert git(bare, "log", "-1", "--format=%s|%an", "main") == "e2e: e2e|bassi[bot]"
    assert git(bare, "rev-parse", "main~1") == before
    changed = git(bare, "diff", "--name-only", "main~1", "main").splitlines()
    assert changed == ["reports/e2e.md"]


def test_action_notifies_a_failed_run_under_act(repo_copy: Path, tmp_path: Path, fakeapi_pid_file: Path) -> None:
    """notify-url from a secret: a failed run posts a Slack message to a local receiver; the step
    still fails with the run's own exit code, and the URL shows nowhere in the log."""
    work = repo_copy
    (work / ".github" / "notify-script.json").write_text(json.dumps([{"type": "text", "text": "FAILED: no data"}]))
    self_test = yaml.safe_load((work / ".github/workflows/self-test.yml").read_text())
    steps = self_test["jobs"]["self-test"]["steps"]
    start_server = next(step for step in steps if step.get("name") == "Start the fake Messages API")
    start_server["run"] = start_server["run"].replace(".github/self-test/script.json", ".github/notify-script.json")
    stop_server = next(step for step in steps if step.get("name") == "Stop the fake Messages API")
    outputs_file = tmp_path / "outputs.json"
    workflow = {
        "name": "e2e notify",
        "on": {"workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "jobs": {
            "e2e": {
                "runs-on": "ubuntu-latest",
                "steps": [
                    {"uses": "actions/checkout@v5", "with": {"persist-credentials": False}},
                    start_server,
                    {
                        "id": "bassi",
                        "uses": "./",
                        "continue-on-error": True,
                        "with": {
                            "prompt": "Write the report",
                            "anthropic-api-key": "fake-key-e2e",
                            "notify-url": "${{ secrets.HOOK_URL }}",
                        },
                    },
                    {
                        "env": {"OUTPUTS": "${{ toJSON(steps.bassi.outputs) }}", "OUTPUTS_FILE": str(outputs_file)},
                        "run": 'printf "%s" "$OUTPUTS" > "$OUTPUTS_FILE"',
                    },
                    stop_server,
                ],
            }
        },
    }
    (work / ".github/workflows/notify.yml").write_text(yaml.safe_dump(workflow, sort_keys=False))
    with running_receiver() as receiver:
        proc = act(work, ".github/workflows/notify.yml", tmp_path, "-s", f"HOOK_URL={receiver.url}")
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, log[-4000:]
        (message,) = receiver.payloads()
    assert_server_stopped(fakeapi_pid_file)
    outputs = json.loads(outputs_file.read_text())
    assert (outputs["status"], outputs["exit-code"]) == ("failed", "1")
    assert message["text"].startswith("bassi: adhoc failed (exit 1)")
    assert "SECRETPART" not in log


def test_actor_gate_under_act(
    repo_copy: Path, tmp_path: Path, fake_github: FakeGitHub, fake_api: FakeMessagesAPI
) -> None:
    """An issue comment by a reader: the composite action ends forbidden (exit 9) with its outputs set,
    and the fake Messages API is never called."""
    work = repo_copy
    git(work, "remote", "set-url", "origin", "https://github.com/octo/repo.git")  # act's GITHUB_REPOSITORY
    fake_github.roles = {"stranger": "read"}
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"action": "created", "comment": {"body": "@bassi hi"}, "sender": {"login": "stranger"}})
    )
    kept = tmp_path / "kept"
    kept.mkdir()
    workflow = {
        "name": "gate",
        "on": {"issue_comment": {"types": ["created"]}},
        "permissions": {"contents": "read"},
        "jobs": {
            "gate": {
                "runs-on": "ubuntu-latest",
                "steps": [
                    {"uses": "actions/checkout@v5", "with": {"persist-credentials": False}},
                    {
                        "id": "bassi",
                        "uses": "./",
                        "continue-on-error": True,
                        "with": {"prompt": "answer the comment", "anthropic-api-key": "fake-key-gate"},
                    },
                    {
                        "env": {
                            "OUTPUTS": "${{ toJSON(steps.bassi.outputs) }}",
                            "RESULT_FILE": "${{ steps.bassi.outputs.result-file }}",
                            "KEEP": str(kept),
                        },
                        # RUNNER_TEMP, where the result file is, is gone when act ends: keep a copy.
                        "run": 'printf "%s" "$OUTPUTS" > "$KEEP/outputs.json"; cp "$RESULT_FILE" "$KEEP/result.json"',
                    },
                ],
            }
        },
    }
    (work / ".github/workflows/gate.yml").write_text(yaml.safe_dump(workflow, sort_keys=False))
    token = "ghs_" + "ActGateWorkflowT0ken" * 2
    proc = act(
        work,
        ".github/workflows/gate.yml",
        tmp_path,
        "-e",
        str(event),
        "--actor",
        "stranger",
        "-s",
        f"GITHUB_TOKEN={token}",
        "--env",
        f"GITHUB_API_URL={fake_github.url}",
        "--env",
        f"ANTHROPIC_BASE_URL={fake_api.base_url}",
        event="issue_comment",
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    outputs = json.loads((kept / "outputs.json").read_text())
    assert outputs["status"] == "forbidden" and outputs["exit-code"] == "9", outputs
    result = json.loads((kept / "result.json").read_text())
    assert (result["status"], result["exit_code"]) == ("forbidden", 9)
    assert result["error"]["message"].startswith("stranger has read permission on octo/repo")
    # act shows each step's summary file after the step.
    assert "Summary - \n**bassi: the agent did not run** (status `forbidden`, exit code 9): stranger has read" in log
    assert "::error title=bassi::stranger has read permission on octo/repo" in log
    assert fake_api.requests == []
    assert [r.path for r in fake_github.requests] == ["/repos/octo/repo/collaborators/stranger/permission"]
    assert fake_github.requests[0].headers["authorization"] == f"Bearer {token}"
    assert token not in log
