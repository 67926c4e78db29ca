"""Run ids are unique in a history although their suffix is random: a run that draws an id another
run has (both started in the same second, one chance in 16.7 million per pair, but a hundred runs
a second drain a queue) draws again, and everything made from the id follows the new one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bassi_ci.queue.model import NewItem
from bassi_ci.queue.store import open_store
from bassi_ci.runs import ending, history
from tests.cli import check_result, history_row, run_cli
from tests.fakeapi import FakeMessagesAPI, text

TAKEN = "20270310T090000Z-aaaaaa"


@pytest.fixture
def taken_id(isolated_home: Path) -> str:
    """An id an earlier run of another task has in the history."""
    history.start_run(
        isolated_home / "state.db",
        run_id=TAKEN,
        task_id="other",
        started_at="2027-03-10T09:00:00.000+00:00",
        model="m",
        log_path=None,
    )
    return TAKEN


def draw_first(monkeypatch: pytest.MonkeyPatch, *first: str) -> None:
    """The next run ids drawn are `first`, then real ones again."""
    queued: Iterator[str] = iter(first)
    real = ending.new_run_id

    def drawn(started: datetime) -> str:
        return next(queued, None) or real(started)

    monkeypatch.setattr(ending, "new_run_id", drawn)


def test_the_history_refuses_a_second_run_with_the_same_id(isolated_home: Path, taken_id: str) -> None:
    db = isolated_home / "state.db"
    with pytest.raises(history.RunIdTaken, match=f"run {taken_id} .*another run has that id"):
        history.start_run(
            db, run_id=taken_id, task_id="mine", started_at="2027-03-10T09:00:01.000+00:00", model="m", log_path=None
        )
    assert history_row(isolated_home, taken_id)["task_id"] == "other"


def test_a_run_that_drew_a_taken_id_draws_again_and_succeeds(
    fake_api: FakeMessagesAPI, isolated_home: Path, taken_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    draw_first(monkeypatch, taken_id, taken_id)
    fake_api.enqueue(text("done"))
    code, out, err = run_cli("execute", "--prompt", "note {run_id}", "--ci")
    assert code == 0, err
    run_id = check_result(out)["run_id"]
    assert run_id != taken_id
    assert fake_api.requests[0].body["messages"][0]["content"][0]["text"] == f"note {run_id}"
    row = history_row(isolated_home, run_id)
    assert (row["status"], row["log_path"]) == ("success", str(isolated_home / "logs" / "adhoc" / f"{run_id}.jsonl"))
    assert Path(row["log_path"]).is_file()
    assert history_row(isolated_home, taken_id)["task_id"] == "other"


def test_a_drain_whose_runs_draw_the_same_id_runs_every_item_once_and_exits_0(
    fake_api: FakeMessagesAPI, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The flake of tests/queue/test_concurrency.py's 2,000-item drain: two runs of the workers drew
    the same id, and the second one's item failed (exit 1) with `UNIQUE constraint failed`."""
    store = open_store()
    try:
        for n in range(3):
            store.add(NewItem(f"item {n}", f"prompt {n}"))
    finally:
        store.close()
    same = "20270310T090000Z-bbbbbb"
    draw_first(monkeypatch, same, same, same)
    fake_api.enqueue(*(text("ok") for _ in range(3)))
    code, out, err = run_cli("execute", "--next", "--drain", "--ci")
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["succeeded"], summary["failed"]) == (3, 0)
    run_ids = [item["run_id"] for item in summary["items"]]
    assert run_ids[0] == same and len(set(run_ids)) == 3
    assert [history_row(isolated_home, run_id)["status"] for run_id in run_ids] == ["success"] * 3


def test_a_run_that_fails_before_it_starts_gets_its_row_under_a_new_id_too(
    isolated_home: Path, taken_id: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    task = tmp_path / "weekly.yaml"
    task.write_text("id: weekly\nprompt: 'Report on {undefined_variable}'\n")
    draw_first(monkeypatch, taken_id)
    code, out, _ = run_cli("execute", str(task), "--ci")
    document = check_result(out)
    assert code == document["exit_code"] == 2
    assert document["run_id"] != taken_id
    assert history_row(isolated_home, document["run_id"])["status"] == "usage_error"


def test_a_history_where_every_draw_is_taken_fails_the_run_with_one_line(
    fake_api: FakeMessagesAPI, isolated_home: Path, taken_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ending, "new_run_id", lambda started: taken_id)
    code, out, err = run_cli("execute", "--prompt", "p", "--ci")
    document = check_result(out)
    assert code == document["exit_code"] == 1
    assert document["error"]["message"].endswith(
        f"cannot start run {taken_id} in the run history {isolated_home / 'state.db'}: another run has that id"
    )
    assert "Traceback" not in err
    assert not fake_api.requests
