"""Shell completion of task ids, through click's own completion protocol (what the shell
script installed with `_BASSI_COMPLETE=bash_source bassi` asks for on TAB)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import ROOT, run_cli

TASK = "id: {id}\nname: {id}\nprompt: p\n"


def complete(line: str, shell: str = "bash") -> list[tuple[str, str]]:
    """(type, value) of each completion offered for the last word of `line` (which may be empty)."""
    words = line.split(" ")
    code, out, err = run_cli(
        env={"_BASSI_COMPLETE": f"{shell}_complete", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    )
    assert (code, err) == (0, ""), err
    return [(kind, value) for kind, _, value in (item.partition(",") for item in out.splitlines())]


def ids(line: str) -> list[str]:
    return [value for kind, value in complete(line) if kind == "plain"]


@pytest.fixture
def store(isolated_home: Path) -> Path:
    tasks = isolated_home / "tasks"
    tasks.mkdir(parents=True)
    for task_id in ("weekly-report", "weekend-digest", "nightly"):
        (tasks / f"{task_id}.yaml").write_text(TASK.format(id=task_id), encoding="utf-8")
    (tasks / "broken.yaml").write_text("prompt: [\n", encoding="utf-8")  # still an id: it can be deleted
    (tasks / ".validated-cache.json").write_text("{}", encoding="utf-8")
    (tasks / "notes.txt").write_text("not a task", encoding="utf-8")
    return tasks


@pytest.mark.parametrize("command", ["show", "pause", "resume", "edit", "delete", "logs"])
def test_schedule_commands_complete_stored_task_ids(store: Path, command: str) -> None:
    assert ids(f"bassi schedule {command} we") == ["weekend-digest", "weekly-report"]
    assert ids(f"bassi schedule {command} ") == ["broken", "nightly", "weekend-digest", "weekly-report"]
    assert ids(f"bassi schedule {command} x") == []


def test_logs_and_history_also_complete_ids_that_only_have_runs(store: Path, isolated_home: Path) -> None:
    from bassi_ci.runs.history import start_run

    start_run(
        isolated_home / "state.db",
        run_id="r1",
        task_id="weekly-old",
        started_at="2027-03-10T09:00:00.000+00:00",
        model="m",
        log_path=None,
    )
    assert ids("bassi schedule logs weekly") == ["weekly-old", "weekly-report"]
    assert ids("bassi history weekly") == ["weekly-old", "weekly-report"]
    assert ids("bassi schedule show weekly") == ["weekly-report"]  # a deleted task cannot be shown


def test_execute_completes_stored_and_repository_ids_and_files(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".bassi" / "tasks").mkdir(parents=True)
    (repo / ".bassi" / "tasks" / "weekly-ci.yml").write_text(TASK.format(id="weekly-ci"), encoding="utf-8")
    (repo / "docs").mkdir()
    monkeypatch.chdir(repo / "docs")
    assert complete("bassi execute week") == [
        ("plain", "weekend-digest"),
        ("plain", "weekly-ci"),
        ("plain", "weekly-report"),
        ("file", "week"),  # TASK may be a task file: the shell completes paths when no id matches
    ]
    monkeypatch.chdir(tmp_path)  # outside the repository: its tasks are not found, so not offered
    assert ids("bassi execute week") == ["weekend-digest", "weekly-report"]


def test_zsh_gets_the_same_ids(store: Path) -> None:
    code, out, _ = run_cli(
        env={"_BASSI_COMPLETE": "zsh_complete", "COMP_WORDS": "bassi schedule show ni", "COMP_CWORD": "3"}
    )
    assert code == 0 and out.splitlines() == ["plain", "nightly", "_"]


def test_a_broken_store_or_history_gives_fewer_completions_never_an_error(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "tasks").write_text("a file where the store folder should be", encoding="utf-8")
    (isolated_home / "state.db").write_bytes(b"not a database\n" * 200)
    assert ids("bassi schedule show ") == []
    assert ids("bassi schedule logs ") == []
    assert ids("bassi history ") == []
    assert complete("bassi execute ") == [("file", "")]


def test_the_documented_activation_prints_a_completion_script() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bassi_ci"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), "_BASSI_COMPLETE": "bash_source"},
    )
    assert result.returncode == 0 and "_bassi_completion()" in result.stdout
    assert "complete -o nosort -F _bassi_completion bassi" in result.stdout
