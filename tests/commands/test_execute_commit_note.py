"""A run whose task declares commit paths but changed nothing there says so (issue #8): in the human
summary, in the GitHub step summary; the JSON result keeps its contract and the exit code stays 0.

Runs go through `bassi execute` with a replay file (no API, no key); the tools really run."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli import check_result, run_cli

NOTE = "nothing changed under reports/ (the task's commit paths); the run changed "


def replay_writing(folder: Path, command: str, final: str = "Report written.") -> Path:
    """A recording whose agent runs one bash `command`, then ends with `final`."""
    usage = {"input_tokens": 10, "output_tokens": 5}
    call = {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": command}}
    messages: list[dict[str, Any]] = [
        {"role": "assistant", "type": "message", "content": [call], "stop_reason": "tool_use", "usage": usage},
        {
            "role": "assistant",
            "type": "message",
            "content": [{"type": "text", "text": final}],
            "stop_reason": "end_turn",
            "usage": usage,
        },
    ]
    path = folder / "replay.json"
    path.write_text(json.dumps({"format": "bassi-recording", "version": 1, "messages": messages}))
    return path


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository, the current directory, with a task that commits `reports/`."""
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    monkeypatch.chdir(root)
    return root


def write_task(repo: Path, *, paths: str = "[reports/]", extra: str = "") -> Path:
    task = repo / "notes.yaml"
    task.write_text(f"id: notes\nprompt: Write the notes\ncommit:\n  paths: {paths}\n{extra}")
    return task


def execute(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli("execute", *args, "--ci", env=env)
    return code, check_result(out), err


def test_a_report_in_the_wrong_folder_is_named_in_the_summary(repo: Path, tmp_path: Path) -> None:
    task = write_task(repo)
    replay = replay_writing(tmp_path, "mkdir -p notes && echo x > notes/week.md")
    code, result, err = execute(str(task), "--replay", str(replay))
    assert (code, result["status"]) == (0, "success")  # the agent did finish: the exit code stays
    assert result["files_changed"] == ["notes/week.md"]
    assert f"  note: {NOTE}notes/week.md\n" in err
    assert "nothing changed" not in json.dumps(result)  # the result's fields are the contract: no new one


def test_changes_are_named_from_the_repository_root(repo: Path, tmp_path: Path) -> None:
    """The README's case: the agent works in a sub-folder, so its reports/ is not the root's."""
    workdir = repo / ".bassi" / "tasks"
    workdir.mkdir(parents=True)
    task = write_task(repo, extra=f"workdir: {workdir}\n")
    replay = replay_writing(tmp_path, "mkdir -p reports && echo x > reports/week.md")
    code, _, err = execute(str(task), "--replay", str(replay))
    assert code == 0
    assert f"  note: {NOTE}.bassi/tasks/reports/week.md\n" in err


def test_a_run_that_changed_no_file_says_so(repo: Path, tmp_path: Path) -> None:
    task = write_task(repo)
    code, _, err = execute(str(task), "--replay", str(replay_writing(tmp_path, "true")))
    assert code == 0
    assert "  note: nothing changed under reports/ (the task's commit paths); the run changed no files\n" in err


def test_a_report_under_the_commit_paths_needs_no_note(repo: Path, tmp_path: Path) -> None:
    task = write_task(repo, paths="['reports/{date}.md']")
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    replay = replay_writing(tmp_path, f"mkdir -p reports && echo x > reports/{today}.md")
    code, result, err = execute(str(task), "--replay", str(replay))
    assert (code, result["files_changed"]) == (0, [f"reports/{today}.md"])
    assert "note:" not in err


def test_template_commit_paths_are_named_expanded(repo: Path, tmp_path: Path) -> None:
    task = write_task(repo, paths="['reports/{team}.md']", extra="vars:\n  team: core\n")
    replay = replay_writing(tmp_path, "mkdir -p reports && echo x > reports/other.md")
    code, _, err = execute(str(task), "--replay", str(replay), "--var", "team=growth")
    assert code == 0
    expanded = "reports/growth.md (the task's commit paths); the run changed reports/other.md"
    assert f"note: nothing changed under {expanded}" in err


def test_a_failed_run_has_no_commit_note(repo: Path, tmp_path: Path) -> None:
    task = write_task(repo)
    replay = replay_writing(tmp_path, "true")
    code, result, err = execute(str(task), "--replay", str(replay), "--max-turns", "1")
    assert code == 5 and result["status"] == "limit_reached"
    assert "note:" not in err  # the failure is the news; commit-back will not run anyway


def test_a_task_without_commit_paths_has_no_note(repo: Path, tmp_path: Path) -> None:
    task = repo / "plain.yaml"
    task.write_text("id: plain\nprompt: p\n")
    code, _, err = execute(str(task), "--replay", str(replay_writing(tmp_path, "true")))
    assert code == 0 and "note:" not in err


def test_without_ci_the_note_ends_the_human_summary(repo: Path, tmp_path: Path) -> None:
    task = write_task(repo)
    replay = replay_writing(tmp_path, "echo x > stray.txt")
    code, out, _ = run_cli("execute", str(task), "--replay", str(replay))
    assert code == 0
    summary = out[out.index("✓ success") :].splitlines()
    assert summary[1] == f"  note: {NOTE}stray.txt"


def test_the_github_step_summary_carries_the_note(repo: Path, tmp_path: Path) -> None:
    task = write_task(repo)
    replay = replay_writing(tmp_path, "echo x > stray.txt")
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    code, _, _ = execute(str(task), "--replay", str(replay), env=env)
    assert code == 0
    assert f"> **Note:** {NOTE}stray.txt\n" in summary.read_text()


def test_a_secret_in_a_changed_file_name_is_redacted(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-" + "v" * 20
    monkeypatch.setenv("MY_API_TOKEN", secret)
    task = write_task(repo)
    replay = replay_writing(tmp_path, 'echo x > "$MY_API_TOKEN.txt"')
    code, _, err = execute(str(task), "--replay", str(replay))
    assert code == 0 and NOTE in err and secret not in err
