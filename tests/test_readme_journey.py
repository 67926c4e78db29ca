"""The README's journey, end to end, as a new user walks it (issue #8, "Verification").

In a fresh git repository with a bare `origin`:

1. `bassi schedule add "Weekly report" --repo …` writes `.bassi/tasks/weekly-report.yaml`;
   the user adds a `commit:` block to that file by hand (no option sets it);
2. `bassi execute weekly-report --replay …` from a subfolder finds the task by id and writes
   the report at the repository root, leaving no lock or cache file in the repository;
3. `bassi ci generate` writes the workflow, which actionlint and check-jsonschema accept;
4. the generated workflow, unchanged, runs under act, and its commit with the report arrives
   in the bare remote.

Every bassi step is a real `python -m bassi_ci` process with its own HOME and BASSI_HOME.

What the offline runner forces, and how it is met without editing the generated file:

- `uses: bassi/run@v1` cannot be downloaded: act serves that reference from a copy of this
  checkout (`--local-repository`), so the job runs this checkout's action.yml, which installs
  bassi from that copy (pip finds the dependencies in the machine's local index).
- The job calls the Messages API: act gives the job `ANTHROPIC_BASE_URL` pointing at a fake
  Messages API in this test process, which answers with the very messages of the bundled
  example's recording (examples/weekly-report/replay.json), so the run in CI does exactly
  what the local `--replay` run did; `secrets.ANTHROPIC_API_KEY` is a fake key given to act.
- act fetches every action a composite action names, even one behind a false `if:`, so the
  action's `actions/setup-python@v6` (used only with `python-version`) is served as a no-op.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tests.fakeapi import FakeMessagesAPI, FakeResponse
from tests.oracles import actionlint, check_schema, requires

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "weekly-report"
WORKFLOW = Path(".github/workflows/bassi-weekly-report.yml")

pytestmark = [pytest.mark.slow, requires("act", "actionlint", "check-jsonschema")]


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=Someone", "-c", "user.email=someone@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


class User:
    """Someone at a terminal: their own HOME and BASSI_HOME, bassi from this checkout."""

    def __init__(self, root: Path) -> None:
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(("BASSI_", "ANTHROPIC_"))}
        self.env.update(
            {"HOME": str(root / "home"), "BASSI_HOME": str(root / "bassi-home"), "PYTHONPATH": str(ROOT), "TZ": "UTC"}
        )
        for name in ("HOME", "BASSI_HOME"):
            Path(self.env[name]).mkdir(parents=True)

    @property
    def bassi_home(self) -> Path:
        return Path(self.env["BASSI_HOME"])

    def bassi(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "bassi_ci", *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert proc.returncode == 0, f"bassi {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
        return proc


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A user's repository with the example's metrics at its root and a bare `origin`."""
    work = tmp_path / "repo"
    work.mkdir()
    bare = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", str(bare))
    shutil.copy(EXAMPLE / "metrics.csv", work / "metrics.csv")
    git(work, "add", "metrics.csv")
    git(work, "commit", "-q", "-m", "metrics")
    git(work, "push", "-q", "origin", "main")
    return work


@pytest.fixture
def action_copy(tmp_path: Path) -> Path:
    """This checkout's working tree (its action.yml and package), as act serves `bassi/run@v1`.
    A copy, so installing it never writes build files into the checkout."""
    copy = tmp_path / "bassi-action"
    ignore = shutil.ignore_patterns(
        ".git", "*_cache", "__pycache__", ".hypothesis", ".benchmarks", "*.egg-info", ".venv", "node_modules", "build"
    )
    shutil.copytree(ROOT, copy, ignore=ignore)
    return copy


@pytest.fixture
def recorded_api() -> Iterator[FakeMessagesAPI]:
    """A fake Messages API that answers with the bundled example's recorded messages, in order."""
    recording = json.loads((EXAMPLE / "replay.json").read_text())
    with FakeMessagesAPI() as api:
        api.enqueue(
            *(
                FakeResponse("message", tuple(message["content"]), message["stop_reason"], message["usage"])
                for message in recording["messages"]
            )
        )
        yield api


def example_prompt() -> str:
    return str(yaml.safe_load((EXAMPLE / "task.yaml").read_text())["prompt"])


def add_commit_block(task_file: Path) -> None:
    """What a user does by hand, as `schedule edit` has no option for it: let CI commit reports/."""
    with task_file.open("a", encoding="utf-8") as handle:
        handle.write("commit:\n  paths: [reports/]\n")


def untracked(repo: Path) -> list[str]:
    return sorted(git(repo, "ls-files", "--others", "--exclude-standard").splitlines())


SETUP_PYTHON_STUB = {
    "name": "setup-python stand-in",
    "description": "no-op under act: the action names it, but runs it only with python-version",
    "inputs": {"python-version": {"description": "ignored", "required": False}},
    "runs": {"using": "composite", "steps": [{"shell": "bash", "run": "echo setup-python stand-in"}]},
}


def run_act(repo: Path, action: Path, api_url: str, token: str) -> subprocess.CompletedProcess[str]:
    stub = action.parent / "setup-python-stub"
    stub.mkdir(exist_ok=True)
    (stub / "action.yml").write_text(yaml.safe_dump(SETUP_PYTHON_STUB))
    return subprocess.run(
        [
            "act",
            "workflow_dispatch",
            "-W",
            str(WORKFLOW),
            "-P",
            "ubuntu-latest=-self-hosted",
            "--local-repository",
            f"bassi/run@v1={action}",
            "--local-repository",
            f"actions/setup-python@v6={stub}",
            "-s",
            "ANTHROPIC_API_KEY=sk-ant-fake-journey-key",
            "-s",
            f"GITHUB_TOKEN={token}",
            "--env",
            f"ANTHROPIC_BASE_URL={api_url}",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_readme_journey_from_schedule_add_to_a_commit_in_the_remote(
    repo: Path, tmp_path: Path, action_copy: Path, recorded_api: FakeMessagesAPI
) -> None:
    user = User(tmp_path / "user")

    # 1. schedule add --repo: the task file lands in .bassi/tasks/, without a workdir.
    added = user.bassi(
        repo,
        *("schedule", "add", "Weekly report", "--repo", "--when", "monday 09:00", "--tz", "UTC", "--no-install"),
        *("--prompt", example_prompt(), "--var", "team=growth", "--tools", "bash,str_replace_based_edit_tool"),
    )
    task_file = repo / ".bassi" / "tasks" / "weekly-report.yaml"
    assert f"Saved to {task_file}" in added.stdout
    assert "workdir" not in yaml.safe_load(task_file.read_text())
    add_commit_block(task_file)

    # 2. execute by id, from a subfolder, replaying the recording: the report lands at the root.
    subfolder = repo / "docs" / "notes"
    subfolder.mkdir(parents=True)
    replay = str(EXAMPLE / "replay.json")
    ran = user.bassi(subfolder, "execute", "weekly-report", "--replay", replay, "--ci")
    result = json.loads(ran.stdout)
    assert (result["status"], result["task_id"]) == ("success", "weekly-report")
    report = Path("reports") / f"weekly-{datetime.now(UTC).date().isoformat()}.md"
    assert "# Weekly report: growth" in (repo / report).read_text()
    assert not (task_file.parent / "reports").exists()
    assert sorted(p.name for p in task_file.parent.iterdir()) == ["weekly-report.yaml"]  # no lock, no cache
    assert untracked(repo) == [".bassi/tasks/weekly-report.yaml", report.as_posix()]
    assert (user.bassi_home / "locks").is_dir()  # bassi's own files went to BASSI_HOME instead

    # 3. ci generate, checked by tools nobody on this project wrote.
    user.bassi(repo, "ci", "generate")
    workflow = repo / WORKFLOW
    actionlint(workflow, cwd=repo)
    check_schema("vendor.github-workflows", workflow)
    job_steps = yaml.safe_load(workflow.read_text())["jobs"]["run"]["steps"]
    assert any(step.get("with", {}).get("task") == "weekly-report" for step in job_steps)

    # The user commits the task and the workflow, not the report of their try-out run.
    (repo / report).unlink()
    git(repo, "add", ".bassi", ".github")
    git(repo, "commit", "-q", "-m", "weekly report task and its workflow")
    git(repo, "push", "-q", "origin", "main")
    before = git(repo, "rev-parse", "HEAD")

    # 4. the generated workflow, unchanged, runs under act and commits the report to the remote.
    token = "ghs_" + "JourneyWorkflowT0ken" * 2
    proc = run_act(repo, action_copy, recorded_api.base_url, token)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert token not in log
    assert recorded_api.pending == 0, "the CI run did not replay the whole recording"
    bare = tmp_path / "origin.git"
    assert git(bare, "rev-parse", "main~1") == before
    assert git(bare, "diff", "--name-only", "main~1", "main").splitlines() == [report.as_posix()]
    assert "# Weekly report: growth" in git(bare, "show", f"main:{report.as_posix()}")
