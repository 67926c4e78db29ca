"""`bassi history` and `bassi schedule logs` after real runs against the fake API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import check_result, run_cli
from tests.fakeapi import FakeMessagesAPI, text

TASK = "id: weekly\nname: Weekly\nprompt: Write the report\n"


@pytest.fixture
def two_runs(fake_api: FakeMessagesAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "weekly.yaml").write_text(TASK)
    fake_api.enqueue(text("Report written.\nDetails follow."), text("FAILED: no metrics"), text("other"))
    results = []
    for args in (["weekly.yaml"], ["weekly.yaml"], ["--prompt", "hello"]):
        _, out, _ = run_cli("execute", *args, "--ci")
        results.append(check_result(out))
    return results


def test_history_json_newest_first(two_runs: list[dict[str, object]]) -> None:
    code, out, _ = run_cli("history", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["run_id"] for r in rows] == [r["run_id"] for r in reversed(two_runs)]
    assert [r["status"] for r in rows] == ["success", "failed", "success"]
    first = rows[-1]
    assert first["task_id"] == "weekly" and first["result"] == "Report written.\nDetails follow."
    assert first["num_turns"] == 1 and first["input_tokens"] > 0 and first["log_path"].endswith(".jsonl")


def test_history_of_one_task_as_a_table(two_runs: list[dict[str, object]]) -> None:
    code, out, _ = run_cli("history", "weekly", "-n", "1")
    assert code == 0
    assert "failed" in out and "FAILED: no metrics" in out and "Report written" not in out


def test_schedule_logs(two_runs: list[dict[str, object]]) -> None:
    code, out, _ = run_cli("schedule", "logs", "weekly", "--json")
    entries = json.loads(out)
    assert code == 0 and [e["status"] for e in entries] == ["failed", "success"]
    assert entries[1]["summary"] == "Report written."
    assert entries[1]["duration_ms"] >= 0 and entries[1]["exit_code"] == 0
    code, out, _ = run_cli("schedule", "logs", "weekly")
    assert code == 0 and "Report written." in out and "Details follow" not in out and "STATUS" in out


def test_no_runs_yet(isolated_home: Path) -> None:
    assert run_cli("history") == (0, "No runs yet. Start one with: bassi execute TASK\n", "")
    assert run_cli("history", "--json")[1] == "[]\n"
    run_cli("schedule", "add", "weekly", "--when", "daily 09:00", "--prompt", "p", "--tz", "UTC", "--no-install")
    code, out, _ = run_cli("schedule", "logs", "weekly")
    assert code == 0 and "No runs of 'weekly' yet" in out
    assert not (isolated_home / "state.db").exists()


def test_logs_of_an_unknown_task_is_a_usage_error(isolated_home: Path) -> None:
    run_cli("schedule", "add", "weekly", "--when", "daily 09:00", "--prompt", "p", "--tz", "UTC", "--no-install")
    assert run_cli("schedule", "logs", "nosuch") == (
        2,
        "",
        "bassi: error: no task named 'nosuch'; see 'bassi schedule list'\n",
    )
    code, out, err = run_cli("schedule", "logs", "weeky", "--json")
    assert (code, out) == (2, "") and "did you mean 'weekly'?" in err
    assert not (isolated_home / "state.db").exists()


def test_logs_outlive_their_task_and_typos_are_matched_against_the_history(
    two_runs: list[dict[str, object]],
) -> None:
    # 'weekly' ran from a file and is in no store: its runs are still its logs.
    assert run_cli("schedule", "logs", "weekly")[0] == 0
    code, _, err = run_cli("schedule", "logs", "weeklyy")
    assert code == 2 and "did you mean 'weekly'?" in err


def test_schedule_list_shows_run_counts(fake_api: FakeMessagesAPI, tmp_path: Path) -> None:
    run_cli("schedule", "add", "Weekly", "--when", "monday 09:00", "--prompt", "x", "--tz", "UTC", "--no-install")
    fake_api.enqueue(text("Report written."), text("FAILED: no metrics"))
    for _ in range(2):
        run_cli("execute", "Weekly", "--ci")  # by its name, as it was added
    code, out, _ = run_cli("schedule", "list", "--json")
    weekly = json.loads(out)[0]
    assert code == 0 and (weekly["runs"], weekly["successes"], weekly["failures"]) == (2, 1, 1)
    assert weekly["last_status"] == "failed"


def test_runs_of_another_file_with_the_same_id_are_not_this_tasks_runs(
    two_runs: list[dict[str, object]], isolated_home: Path
) -> None:
    """The bundled example's runs never show up as runs of a personal task that shares its id."""
    run_cli("schedule", "add", "Weekly", "--when", "monday 09:00", "--prompt", "x", "--tz", "UTC", "--no-install")
    code, out, _ = run_cli("schedule", "list", "--json")
    assert code == 0 and (json.loads(out)[0]["runs"], json.loads(out)[0]["last_status"]) == (0, None)
    assert json.loads(run_cli("schedule", "logs", "weekly", "--json")[1]) == []
    assert [r["status"] for r in json.loads(run_cli("history", "weekly.yaml", "--json")[1])] == ["failed", "success"]


def test_a_corrupt_history_is_one_clear_line(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "state.db").write_bytes(b"not a database\n" * 200)
    code, out, err = run_cli("history")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and str(isolated_home / "state.db") in err and "unexpected" not in err
