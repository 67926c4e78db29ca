"""Runs are kept per task file (its real path, `tasks.lookup.history_key`): what that means when
the file moves or the repository is renamed. The behaviour pinned here is the one docs/design.md
documents ("Where tasks are"): a moved task starts a new count, and its old runs stay readable."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli import run_cli

ONE_TURN = {
    "format": "bassi-recording",
    "version": 1,
    "messages": [
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-5-5",
            "content": [{"type": "text", "text": "done"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    ],
}


@pytest.fixture
def ran_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose task `t` ran once; returns the repository."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.chdir(repo)
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps(ONE_TURN))
    assert run_cli("schedule", "add", "t", "--repo", "--when", "every hour", "--prompt", "p", "--no-install")[0] == 0
    code, _, err = run_cli("execute", "t", "--replay", str(replay), "--ci")
    assert code == 0, err
    return repo


def runs_listed(*flags: str) -> int:
    rows = json.loads(run_cli("schedule", "list", "--json", *flags)[1])
    return int(rows[0]["runs"])


def history_of(task: str) -> list[str]:
    return [row["run_id"] for row in json.loads(run_cli("history", task, "--json")[1])]


def test_a_task_counts_its_runs_where_it_is(ran_once: Path) -> None:
    assert runs_listed("--repo") == 1
    assert len(history_of("t")) == 1


def test_a_renamed_repository_starts_a_new_count_and_keeps_the_old_runs_readable(
    ran_once: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed = ran_once.rename(tmp_path / "renamed")
    monkeypatch.chdir(renamed)
    assert runs_listed("--repo") == 0  # another file now: its runs are not this file's
    assert history_of("t") == []
    assert run_cli("schedule", "logs", "t", "--repo")[1].startswith("No runs of 't' yet")
    # The old runs are still there: in the whole history, and by id where no task file named `t` is found.
    assert [row["task_id"] for row in json.loads(run_cli("history", "--json")[1])] == ["t"]
    monkeypatch.chdir(tmp_path)
    assert len(history_of("t")) == 1


def test_a_task_file_moved_within_its_folder_starts_a_new_count(ran_once: Path) -> None:
    tasks = ran_once / ".bassi" / "tasks"
    (tasks / "t.yaml").rename(tasks / "renamed.yaml")
    assert runs_listed("--repo") == 0
    assert len(json.loads(run_cli("history", "--json")[1])) == 1
