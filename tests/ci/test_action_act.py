"""End to end under act: the composite action runs for real (install, run, outputs, commit-back).

act runs the workflow on this machine (`-P ubuntu-latest=-self-hosted`); actions/checkout
is served from the local repository and `uses: ./` runs action.yml. actions/setup-python
(only used when `python-version` is set) cannot be downloaded here, so act is pointed at a
no-op stand-in for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci.fakegithub import FakeGitHub
from tests.ci.helpers import fakeapi_steps
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


def copy_repository(where: Path) -> Path:
    """A copy of this repository (working tree, not history) in `where`/work, with a bare
    `origin` in `where`/origin.git."""
    work = where / "work"
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
    bare = where / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "snapshot")
    git(work, "push", "-q", "origin", "main")
    return work


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    return copy_repository(tmp_path)


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


def stop_leftover_servers(pid_file: Path) -> None:
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


# --- One act run for everything workflow_dispatch starts -----------------------------------------
#
# Every act run installs bassi into a fresh venv (most of its half minute), so what needs nothing but
# workflow_dispatch shares one run of act over the whole workflows folder: the repository's own
# self-test workflow as it is, next to a workflow with one job holding a segment of steps per
# scenario (commit-back, notify, structured output), each with its own fake Messages API, step
# ids and output files. act runs the two jobs side by side. Scenario steps run `if: !cancelled()`,
# so a failing segment leaves the others to run; each test then checks its own job or segment
# (step conclusions, from a last step that saves `toJSON(steps)`) and its own results.

COMMIT_TOKEN = "ghs_" + "ActE2eWorkflowT0ken" * 2
COMMIT_SCRIPT = [
    {
        "type": "tool_use",
        "calls": [["bash", {"command": "mkdir -p reports && echo e2e > reports/e2e.md && echo no > stray.txt"}]],
    },
    {"type": "text", "text": "report done"},
]
NOTIFY_SCRIPT = [{"type": "text", "text": "FAILED: no data"}]
SCHEMA = {
    "type": "object",
    "required": ["verdict", "findings"],
    "properties": {"verdict": {"enum": ["pass", "fail"]}, "findings": {"type": "array", "items": {"type": "string"}}},
}
ANSWER = {"verdict": "fail", "findings": ["two\nlines", 'it\'s "quoted" & ${{ not an expression }}']}
STRUCTURED_SCRIPT = [
    {"type": "tool_use", "calls": [["structured_output", {"verdict": "maybe", "findings": []}]]},
    {"type": "tool_use", "calls": [["structured_output", ANSWER]]},
]


@dataclass
class DispatchRun:
    """The shared act run: its log, the files its steps left and the webhooks it sent."""

    tmp: Path
    log: str = ""
    before: str = ""  # the remote's main before the run
    payloads: list[Any] = field(default_factory=list)

    def path(self, name: str) -> Path:
        return self.tmp / name

    def assert_segment_ran(self, segment: str) -> None:
        """Every step of `segment` (ids `<segment>-…`) ended in success (after continue-on-error)."""
        saved = self.path("steps.json")
        steps: dict[str, Any] = json.loads(saved.read_text()) if saved.exists() else {}
        mine = {step_id: result.get("conclusion") for step_id, result in steps.items() if step_id.startswith(segment)}
        failed = {step_id: conclusion for step_id, conclusion in mine.items() if conclusion != "success"}
        assert mine and not failed, f"{segment} steps: {failed or 'none ran'}\n{self.log[-4000:]}"


def segment(name: str, work: Path, tmp: Path, script: list[Any], *steps: dict[str, Any]) -> list[dict[str, Any]]:
    """`steps` between a fake API serving `script` and its stop, with ids `<name>-…`."""
    script_file = f".github/{name}-script.json"
    (work / script_file).write_text(json.dumps(script))
    start, stop = fakeapi_steps(work, script_file, tmp / f"{name}-fakeapi.pid")
    named = [{**start, "id": f"{name}-start"}, *steps, {**stop, "id": f"{name}-stop"}]
    for index, step in enumerate(named):
        step.setdefault("id", f"{name}-{index}")
        step.setdefault("if", "${{ !cancelled() }}")
    return named


def record_outputs(step_id: str, outputs_file: Path) -> dict[str, Any]:
    return {
        "env": {"OUTPUTS": f"${{{{ toJSON(steps.{step_id}.outputs) }}}}", "OUTPUTS_FILE": str(outputs_file)},
        "run": 'printf "%s" "$OUTPUTS" > "$OUTPUTS_FILE"',
    }


def commit_back_segment(work: Path, tmp: Path) -> list[dict[str, Any]]:
    (work / ".bassi" / "tasks").mkdir(parents=True)
    (work / ".bassi" / "tasks" / "e2e.yaml").write_text(
        "id: e2e\nprompt: write the report\ncommit:\n  paths: ['reports/*.md']\n  message: 'e2e: {task_id}'\n"
    )
    bassi = {
        "id": "commit-bassi",
        "uses": "./",
        "with": {"task": "e2e", "anthropic-api-key": "fake-key-e2e", "commit": "true", "python-version": "3.11"},
    }
    config = {
        "env": {
            "CONFIG_COPY": str(tmp / "git-config-after.txt"),
            "TOKEN_SEEN": str(tmp / "token-seen"),
            "TOKEN": "${{ github.token }}",
        },
        "run": 'cp .git/config "$CONFIG_COPY"; if [ -n "$TOKEN" ]; then echo yes > "$TOKEN_SEEN"; fi',
    }
    outputs = record_outputs("commit-bassi", tmp / "commit-outputs.json")
    return segment("commit", work, tmp, COMMIT_SCRIPT, bassi, outputs, config)


def notify_segment(work: Path, tmp: Path) -> list[dict[str, Any]]:
    bassi = {
        "id": "notify-bassi",
        "uses": "./",
        "continue-on-error": True,
        "with": {
            "prompt": "Write the report",
            "anthropic-api-key": "fake-key-e2e",
            "notify-url": "${{ secrets.HOOK_URL }}",
        },
    }
    outputs = record_outputs("notify-bassi", tmp / "notify-outputs.json")
    return segment("notify", work, tmp, NOTIFY_SCRIPT, bassi, outputs)


def structured_segment(work: Path, tmp: Path) -> list[dict[str, Any]]:
    bassi = {
        "id": "structured-bassi",
        "uses": "./",
        "with": {
            "prompt": "review the repository",
            "anthropic-api-key": "fake-key-structured",
            "output-schema": json.dumps(SCHEMA),
        },
    }
    read_back = {
        "env": {
            "VERDICT": "${{ fromJSON(steps.structured-bassi.outputs.structured-output).verdict }}",
            "FIRST": "${{ fromJSON(steps.structured-bassi.outputs.structured-output).findings[0] }}",
            "WHOLE": "${{ steps.structured-bassi.outputs.structured-output }}",
            "SEEN": str(tmp / "structured-seen.json"),
        },
        "run": "python3 -c 'import json, os; json.dump({k.lower(): os.environ[k] "
        'for k in ("VERDICT", "FIRST", "WHOLE")}, open(os.environ["SEEN"], "w"))\'',
    }
    return segment("structured", work, tmp, STRUCTURED_SCRIPT, bassi, read_back)


@pytest.fixture(scope="module")
def dispatch_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DispatchRun]:
    """The self-test workflow and the commit-back, notify and structured-output scenarios, in one act run."""
    run = DispatchRun(tmp_path_factory.mktemp("dispatch"))
    work = copy_repository(run.tmp)
    steps = [
        {"uses": "actions/checkout@v5", "with": {"persist-credentials": False}},
        *commit_back_segment(work, run.tmp),
        *notify_segment(work, run.tmp),
        *structured_segment(work, run.tmp),
        {"if": "${{ always() }}", "env": {"STEPS": "${{ toJSON(steps) }}", "SAVED": str(run.path("steps.json"))},
         "run": 'printf "%s" "$STEPS" > "$SAVED"'},
    ]  # fmt: skip
    workflow = {
        "name": "e2e scenarios",
        "on": {"workflow_dispatch": {}},
        "permissions": {"contents": "write"},
        "jobs": {"e2e": {"runs-on": "ubuntu-latest", "steps": steps}},
    }
    (work / ".github/workflows/e2e.yml").write_text(yaml.safe_dump(workflow, sort_keys=False))
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "e2e scenarios")
    git(work, "push", "-q", "origin", "main")
    run.before = git(work, "rev-parse", "HEAD")
    try:
        with running_receiver() as receiver:
            secrets = ("-s", f"GITHUB_TOKEN={COMMIT_TOKEN}", "-s", f"HOOK_URL={receiver.url}")
            proc = act(work, ".github/workflows/", run.tmp, *secrets)
            run.log = proc.stdout + proc.stderr
            run.payloads = receiver.payloads()
        yield run
    finally:
        for name in ("fakeapi", "commit-fakeapi", "notify-fakeapi", "structured-fakeapi"):
            stop_leftover_servers(run.path(f"{name}.pid"))


def test_self_test_workflow_under_act(dispatch_run: DispatchRun) -> None:
    run = dispatch_run
    # act pads each job's prefix to the longest job name of the run.
    assert re.search(r"^\[self-test/self-test *\] 🏁  Job succeeded$", run.log, re.M), run.log[-4000:]
    assert "self-test passed: success, 2 turns" in run.log
    assert_server_stopped(run.path("fakeapi.pid"))  # act gives every job FAKEAPI_PID_FILE=<tmp>/fakeapi.pid


def test_action_commits_back_under_act(dispatch_run: DispatchRun) -> None:
    run = dispatch_run
    run.assert_segment_ran("commit")
    assert_server_stopped(run.path("commit-fakeapi.pid"))
    # The workflow had a token and commit-back pushed with it, yet it never reached .git/config.
    assert run.path("token-seen").read_text().strip() == "yes"
    config = run.path("git-config-after.txt").read_text()
    assert COMMIT_TOKEN not in config and "extraheader" not in config
    assert COMMIT_TOKEN not in run.log
    outputs = json.loads(run.path("commit-outputs.json").read_text())
    assert outputs["status"] == "success" and outputs["exit-code"] == "0"
    assert outputs["result"] == "report done"
    bare = run.path("origin.git")
    assert outputs["commit-sha"] == git(bare, "rev-parse", "main")
    assert git(bare, "log", "-1", "--format=%s|%an", "main") == "e2e: e2e|bassi[bot]"
    assert git(bare, "rev-parse", "main~1") == run.before
    changed = git(bare, "diff", "--name-only", "main~1", "main").splitlines()
    assert changed == ["reports/e2e.md"]


def test_action_notifies_a_failed_run_under_act(dispatch_run: DispatchRun) -> None:
    """notify-url from a secret: a failed run posts a Slack message to a local receiver; the step
    still fails with the run's own exit code, and the URL shows nowhere in the log."""
    run = dispatch_run
    run.assert_segment_ran("notify")
    (message,) = run.payloads
    assert_server_stopped(run.path("notify-fakeapi.pid"))
    outputs = json.loads(run.path("notify-outputs.json").read_text())
    assert (outputs["status"], outputs["exit-code"]) == ("failed", "1")
    assert message["text"].startswith("bassi: adhoc failed (exit 1)")
    assert "SECRETPART" not in run.log


def test_structured_output_reaches_a_later_step_through_fromjson(dispatch_run: DispatchRun) -> None:
    """A workflow gives the action an `output-schema`, and a later step reads the
    `structured-output` output with `fromJSON`, the way users build on it."""
    run = dispatch_run
    run.assert_segment_ran("structured")
    assert_server_stopped(run.path("structured-fakeapi.pid"))
    seen_values = json.loads(run.path("structured-seen.json").read_text())
    assert seen_values["verdict"] == "fail"
    assert seen_values["first"] == "two\nlines"
    assert json.loads(seen_values["whole"]) == ANSWER


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
