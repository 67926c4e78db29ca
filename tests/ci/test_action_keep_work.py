"""The action keeps a failed run's work (`commit.on_failure: branch`): a real `bassi execute` that
times out against the fake Messages API, commit-back to a bare remote, the `work-branch` output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ci.helpers import action_run, clone, git
from tests.fakeapi import FakeMessagesAPI, from_script

HANG = "mkdir -p reports && echo draft > reports/week.md && echo x > stray.txt && sleep 60"
WRITE_THEN_HANG = {"type": "tool_use", "calls": [["bash", {"command": HANG}]]}
WRITE = {"type": "tool_use", "calls": [["bash", {"command": "mkdir -p reports && echo draft > reports/week.md"}]]}


@pytest.fixture
def work(remote: Path, tmp_path: Path) -> Path:
    repo = clone(remote, tmp_path / "work")
    tasks = repo / ".bassi" / "tasks"
    tasks.mkdir(parents=True)
    commit = "commit:\n  paths: ['reports/*.md']\n  message: '{task_id}: report'\n"
    (tasks / "keep.yaml").write_text(f"id: keep\nprompt: p\nlimits: {{timeout: 8}}\n{commit}  on_failure: branch\n")
    (tasks / "drop.yaml").write_text(f"id: drop\nprompt: p\nlimits: {{max_turns: 1}}\n{commit}")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "add tasks")
    git(repo, "push", "-q", "origin", "main")
    return repo


def test_a_timed_out_run_leaves_its_work_on_a_side_branch(
    work: Path, tmp_path: Path, remote: Path, fake_api: FakeMessagesAPI
) -> None:
    main_before = git(remote, "rev-parse", "main")
    fake_api.enqueue(from_script(WRITE_THEN_HANG))
    code, outputs, log = action_run(work, tmp_path, task="keep", anthropic_api_key="k" * 20, commit="true")
    assert (code, outputs["status"], outputs["exit-code"]) == (4, "timeout", "4"), log
    run_id = json.loads(Path(outputs["result-file"]).read_text())["run_id"]
    side = f"bassi/keep/{run_id}"
    assert outputs["work-branch"] == side and outputs["commit-sha"] == "" and outputs["pull-request-url"] == ""
    assert "status timeout: kept its changes to 1 file(s)" in log and f"origin/{side}" in log
    assert git(remote, "rev-parse", "main") == main_before
    assert git(remote, "show", f"{side}:reports/week.md") == "draft"
    assert git(remote, "diff-tree", "--no-commit-id", "--name-only", "-r", side) == "reports/week.md"  # no stray.txt


def test_with_discard_a_failed_run_pushes_nothing_and_says_how_to_keep_it(
    work: Path, tmp_path: Path, remote: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.enqueue(from_script(WRITE), from_script({"type": "text", "text": "done"}))
    code, outputs, log = action_run(work, tmp_path, task="drop", anthropic_api_key="k" * 20, commit="true")
    assert (code, outputs["status"]) == (5, "limit_reached"), log
    assert (work / "reports" / "week.md").exists()  # there was work, and it was dropped
    assert outputs["work-branch"] == "" and outputs["commit-sha"] == ""
    assert "its changes were discarded (set commit.on_failure: branch" in log
    assert git(remote, "for-each-ref", "--format=%(refname)", "refs/heads") == "refs/heads/main"


def test_a_failed_push_of_the_work_keeps_the_runs_own_exit_code(
    work: Path, tmp_path: Path, remote: Path, fake_api: FakeMessagesAPI
) -> None:
    (work / ".bassi" / "tasks" / "keep.yaml").write_text(
        "id: keep\nprompt: p\nlimits: {max_turns: 1}\ncommit:\n  paths: ['reports/*.md']\n  on_failure: branch\n"
    )
    git(work, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    fake_api.enqueue(from_script(WRITE), from_script({"type": "text", "text": "done"}))
    code, outputs, log = action_run(work, tmp_path, task="keep", anthropic_api_key="k" * 20, commit="true")
    assert (code, outputs["status"], outputs["exit-code"]) == (5, "limit_reached", "5"), log
    assert "::error title=bassi commit-back::the run's work was not kept: push to origin/bassi/keep/" in log
    assert outputs["work-branch"] == ""
