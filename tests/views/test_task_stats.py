"""task_stats: a task file's runs, found by its resolved path; no history means no lookup at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from bassi_ci.runs.stats import TaskStats
from bassi_ci.tasks.model import Task, task_from_dict
from bassi_ci.views import tasks as view

RUNS = TaskStats(runs=3, successes=2, failures=1, last_started_at=None, last_status="success", last_duration_ms=5)


def stored_task(tmp_path: Path) -> Task:
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.yaml").write_text("id: a\nprompt: p\n", encoding="utf-8")
    (tmp_path / "link").symlink_to(real)
    return task_from_dict({"id": "a", "prompt": "p"}, source=tmp_path / "link" / "a.yaml")


def test_runs_are_found_under_the_real_path_of_the_task_file(tmp_path: Path) -> None:
    task = stored_task(tmp_path)
    key = str((tmp_path / "real" / "a.yaml").resolve())
    assert view.task_stats({("a", key): RUNS}, task) is RUNS
    assert view.task_stats({("a", "/elsewhere/a.yaml"): RUNS}, task) is None
    assert view.task_stats({("a", ""): RUNS}, task) is RUNS  # runs recorded before runs had keys


def test_without_any_history_no_path_is_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def resolving(task: object) -> str:
        raise AssertionError("history_key was called for an empty history")

    monkeypatch.setattr(view, "history_key", resolving)
    assert view.task_stats({}, stored_task(tmp_path)) is None
