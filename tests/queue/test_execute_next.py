"""`bassi execute --next [--drain]`: the real SDK against the fake Messages API, the real queue
(each test on both backends: `queue_backend`) and history in the test's state.db; results checked
against their published schemas."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from bassi_ci.queue.model import NewItem
from bassi_ci.queue.store import open_store
from tests.cli import ROOT, check_result, history_row, run_cli
from tests.fakeapi import FakeMessagesAPI, slow, text

pytestmark = pytest.mark.usefixtures("queue_backend")

DRAIN_SCHEMA = json.loads((ROOT / "bassi_ci" / "schemas" / "drain.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def queue(*items: NewItem) -> list[int]:
    store = open_store()
    try:
        return [store.add(item).id for item in items]
    finally:
        store.close()


def item(item_id: int) -> dict[str, Any]:
    store = open_store()
    try:
        return store.get(item_id).as_dict()
    finally:
        store.close()


def check_drain(stdout: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(stdout)
    Draft202012Validator(DRAIN_SCHEMA, format_checker=FormatChecker()).validate(document)
    return document


def sent_prompts(api: FakeMessagesAPI) -> list[str]:
    return [request.body["messages"][0]["content"][0]["text"] for request in api.requests]


def test_empty_queue_is_idle_exit_0(isolated_home: Path, queue_backend: str) -> None:
    code, out, err = run_cli("execute", "--next", "--ci")
    result = check_result(out)
    assert code == 0 and (result["status"], result["is_error"], result["task_id"]) == ("idle", False, None)
    assert "the queue is empty" in err
    history = isolated_home / "state.db"
    if queue_backend == "postgres" and not history.exists():
        return  # the queue lives elsewhere and nothing ran: not even the history file was made
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone() == (0,)


def test_next_runs_the_highest_priority_item_and_stores_its_result(
    fake_api: FakeMessagesAPI, isolated_home: Path
) -> None:
    low, high = queue(NewItem("low", "the low one"), NewItem("high", "the high one", priority=9))
    fake_api.enqueue(text("High done."))
    code, out, err = run_cli("execute", "--next", "--ci")
    result = check_result(out)
    assert code == 0 and result["result"] == "High done." and result["task_id"] == "adhoc"
    assert sent_prompts(fake_api) == ["the high one"]
    assert f"queue item {high} 'high': done (attempt 1 of 3)" in err
    stored = item(high)
    assert (stored["status"], stored["run_id"], stored["result"]) == ("done", result["run_id"], result)
    assert history_row(isolated_home, result["run_id"])["status"] == "success"
    assert item(low)["status"] == "pending"


def test_failed_run_fails_its_item(fake_api: FakeMessagesAPI) -> None:
    (item_id,) = queue(NewItem("x", "try it"))
    fake_api.enqueue(text("FAILED: no data"))
    code, out, _ = run_cli("execute", "--next", "--ci")
    result = check_result(out)
    assert code == 1 and result["status"] == "failed"
    stored = item(item_id)
    assert stored["status"] == "failed" and stored["error"].startswith("failed: ")
    assert stored["result"] == result


def test_task_item_uses_the_tasks_settings_with_the_items_prompt_and_vars(
    fake_api: FakeMessagesAPI, isolated_home: Path
) -> None:
    tasks = isolated_home / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "weekly.yaml").write_text(
        "id: weekly\nname: Weekly\nprompt: the task's own prompt\nmodel: claude-haiku-4-5\nvars:\n  team: growth\n"
    )
    queue(
        NewItem("w", "Report for {team} by {owner}", task="weekly", vars={"owner": "ana"}),
        NewItem("t", task="weekly"),
    )
    fake_api.enqueue(text("one"), text("two"))
    code, out, _ = run_cli("execute", "--next", "--drain", "--ci")
    summary = check_drain(out)
    assert code == 0 and summary["items_run"] == 2
    assert sent_prompts(fake_api) == ["Report for growth by ana", "the task's own prompt"]
    assert {request.body["model"] for request in fake_api.requests} == {"claude-haiku-4-5"}
    first = item(1)["result"]
    assert first["task_id"] == "weekly" and history_row(isolated_home, first["run_id"])["task_id"] == "weekly"


def test_drain_runs_every_item_and_exits_with_the_first_failure(fake_api: FakeMessagesAPI) -> None:
    ids = queue(*(NewItem(f"item {n}", f"prompt {n}") for n in range(4)))
    fake_api.enqueue(text("ok"), text("FAILED: broken"), text("ok"), text("ok"))
    code, out, err = run_cli("execute", "--next", "--drain", "--ci")
    summary = check_drain(out)
    assert code == 1
    assert (summary["status"], summary["exit_code"], summary["is_error"]) == ("failed", 1, True)
    assert (summary["items_run"], summary["succeeded"], summary["failed"]) == (4, 3, 1)
    assert [line["id"] for line in summary["items"]] == ids
    assert [line["item_status"] for line in summary["items"]] == ["done", "failed", "done", "done"]
    assert "drained 4 items: 3 succeeded, 1 failed" in err
    assert sent_prompts(fake_api) == [f"prompt {n}" for n in range(4)]


def test_drain_stops_after_max_items(fake_api: FakeMessagesAPI) -> None:
    ids = queue(*(NewItem(f"i{n}", f"p{n}") for n in range(3)))
    fake_api.enqueue(text("ok"), text("ok"))
    code, out, _ = run_cli("execute", "--drain", "--max-items", "2", "--ci")
    assert code == 0 and check_drain(out)["items_run"] == 2
    assert [item(i)["status"] for i in ids] == ["done", "done", "pending"]


def test_drain_of_an_empty_queue_is_idle() -> None:
    code, out, _ = run_cli("execute", "--next", "--drain", "--ci")
    summary = check_drain(out)
    assert code == 0 and (summary["status"], summary["items"]) == ("idle", [])


def test_an_item_whose_task_is_gone_fails_with_a_usage_error(isolated_home: Path, fake_api: FakeMessagesAPI) -> None:
    tasks = isolated_home / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "gone.yaml").write_text("id: gone\nname: Gone\nprompt: p\n")
    (item_id,) = queue(NewItem("g", task="gone"))
    (tasks / "gone.yaml").unlink()
    code, out, _ = run_cli("execute", "--next", "--ci")
    result = check_result(out)
    assert code == 2 and "no task named 'gone'" in result["error"]["message"]
    assert item(item_id)["status"] == "failed" and fake_api.requests == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("weekly", "--next"), "TASK: not with --next"),
        (("--next", "--prompt", "x"), "--prompt: not with --next"),
        (("--next", "--var", "a=1"), "--var: not with --next"),
        (("--next", "--max-items", "2"), "--max-items works with --drain"),
        (("--drain", "--junit", "r.xml"), "--junit: not with --drain"),
        (("--next", "--lease", "soon"), "--lease 'soon': expected seconds"),
        (("--prompt", "x", "--lease", "30"), "--max-items, --lease and --queue-url work with --next"),
        (
            ("--prompt", "x", "--queue-url", "postgresql://h/db"),
            "--max-items, --lease and --queue-url work with --next",
        ),
    ],
)
def test_bad_queue_options_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    code, out, _ = run_cli("execute", *args, "--ci")
    result = check_result(out)
    assert code == 2 and message in result["error"]["message"]


def test_item_cancelled_while_it_runs_keeps_no_result(fake_api: FakeMessagesAPI) -> None:
    (item_id,) = queue(NewItem("x", "slow one"))
    fake_api.enqueue(slow(1.5, text("finished anyway")))

    def cancel_when_running() -> None:
        while not fake_api.requests:
            time.sleep(0.02)
        store = open_store()
        try:
            store.cancel(item_id)
        finally:
            store.close()

    canceller = threading.Thread(target=cancel_when_running)
    canceller.start()
    code, out, err = run_cli("execute", "--next", "--ci")
    canceller.join()
    assert code == 0 and check_result(out)["result"] == "finished anyway"
    assert "cancelled" in err and "its result was not stored" in err
    stored = item(item_id)
    assert (stored["status"], stored["result"]) == ("cancelled", None)


def test_idle_is_neither_success_nor_failure_in_ci_reports(tmp_path: Path) -> None:
    summary, junit = tmp_path / "summary.md", tmp_path / "report.xml"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    code, _, err = run_cli("execute", "--next", "--ci", "--junit", str(junit), env=env)
    assert code == 0 and "::error" not in err
    assert "| Status | 💤 `idle` (exit 0) |" in summary.read_text()
    suite = ET.parse(junit).getroot()
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "1")
    assert suite.find("testcase/skipped") is not None and suite.find("testcase/failure") is None
