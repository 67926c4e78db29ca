"""`bassi queue …` through the real entry point, on each backend (`queue_backend`): a real
state.db in the test's home, and a real PostgreSQL database (tests/pgserver.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli

pytestmark = pytest.mark.usefixtures("queue_backend")


def add(*args: str) -> dict[str, object]:
    code, out, err = run_cli("queue", "add", *args, "--json")
    assert code == 0, err
    item: dict[str, object] = json.loads(out)
    return item


def test_add_list_show(isolated_home: Path) -> None:
    code, out, err = run_cli("queue", "add", "report", "--prompt", "Write it", "--priority", "3", "--var", "team=a")
    assert (code, err) == (0, "")
    assert out == "queued item 1 'report' (priority 3)\n"
    add("second", "--prompt", "p")
    code, out, _ = run_cli("queue", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["ID", "STATUS", "PRIORITY", "ATTEMPTS", "NAME", "TASK", "CREATED"]
    assert [line.split()[:5] for line in lines[1:]] == [
        ["1", "pending", "3", "0/3", "report"],
        ["2", "pending", "0", "0/3", "second"],
    ]
    code, out, _ = run_cli("queue", "show", "1", "--json")
    shown = json.loads(out)
    assert (shown["name"], shown["prompt"], shown["vars"]) == ("report", "Write it", {"team": "a"})
    assert shown["result"] is None
    code, out, _ = run_cli("queue", "show", "1")
    assert code == 0 and "name:" in out and "team=a" in out


def test_list_json_and_status_filter(isolated_home: Path) -> None:
    add("a", "--prompt", "p")
    add("b", "--prompt", "p")
    assert run_cli("queue", "cancel", "1")[:2] == (0, "cancelled item 1 'a'\n")
    code, out, _ = run_cli("queue", "list", "--status", "cancelled", "--json")
    items = json.loads(out)
    assert code == 0 and [(i["id"], i["status"]) for i in items] == [(1, "cancelled")]
    assert "result" not in items[0]
    assert run_cli("queue", "list", "--status", "done")[1] == "No done items.\n"
    assert run_cli("queue", "retry", "1")[:2] == (0, "item 1 'a' is pending again\n")


def test_empty_queue(isolated_home: Path) -> None:
    assert run_cli("queue", "list") == (0, "The queue is empty.\n", "")
    assert run_cli("queue", "list", "--json") == (0, "[]\n", "")


def test_task_items_keep_the_task_id_or_file(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = isolated_home / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "weekly.yaml").write_text("id: weekly\nname: Weekly\nprompt: Write the report\n")
    task_file = tmp_path / "one.yaml"
    task_file.write_text("id: one\nname: One\nprompt: Do one thing\n")
    monkeypatch.chdir(tmp_path)
    assert add("w", "--task", "weekly")["task"] == "weekly"
    by_file = add("f", "--task", "one.yaml", "--prompt", "other prompt")
    assert (by_file["task"], by_file["prompt"]) == (str(task_file.resolve()), "other prompt")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("queue", "add", "x"), "needs --prompt TEXT, or --task ID"),
        (("queue", "add", "x", "--task", "nope"), "no task named 'nope'"),
        (("queue", "add", "x", "--prompt", "p", "--var", "novalue"), "--var 'novalue': expected KEY=VALUE"),
        (("queue", "add", "x", "--prompt", "p", "--max-attempts", "0"), "--max-attempts"),
        (("queue", "add", " ", "--prompt", "p"), "needs a NAME that is not empty"),
        (("queue", "show", "7"), "no queue item 7 (see 'bassi queue list')"),
        (("queue", "show", "seven"), "'seven' is not a valid integer"),
        (("queue", "cancel", "7"), "no queue item 7"),
        (("queue", "retry", "7"), "no queue item 7"),
        (("queue", "list", "--status", "bogus"), "'bogus' is not one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(isolated_home: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = run_cli(*args)
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert out == ""


def test_wrong_state_is_exit_2(isolated_home: Path) -> None:
    add("a", "--prompt", "p")
    code, _, err = run_cli("queue", "retry", "1")
    assert code == 2 and err == "bassi: error: queue item 1 is pending: only failed or cancelled items can be retried\n"
    run_cli("queue", "cancel", "1")
    code, _, err = run_cli("queue", "cancel", "1")
    assert code == 2 and "is cancelled: only pending or running items can be cancelled" in err


def test_table_shows_the_oldest_items_and_says_how_many_more(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bassi_ci.commands import queue as queue_command

    monkeypatch.setattr(queue_command, "TABLE_LIMIT", 2)
    for name in "abc":
        add(name, "--prompt", "p")
    code, out, err = run_cli("queue", "list")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["1", "2"]
    assert "showing the oldest 2 of 3 items" in err
    code, out, err = run_cli("queue", "list", "--json")
    assert [item["id"] for item in json.loads(out)] == [1, 2, 3] and err == ""
    assert out.count("\n") == 5  # one item per line


def test_no_secret_of_the_environment_is_printed(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-value-for-the-queue"
    monkeypatch.setenv("DEPLOY_TOKEN", secret)
    code, out, _ = run_cli("queue", "add", f"deploy with {secret}", "--prompt", f"use {secret}", "--var", f"t={secret}")
    assert code == 0 and secret not in out
    for args in (("list",), ("list", "--json"), ("show", "1"), ("show", "1", "--json"), ("cancel", "1")):
        code, out, err = run_cli("queue", *args)
        assert code == 0 and "[REDACTED]" in out, args
        assert secret not in out + err, args


def test_json_is_the_same_on_every_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scripts read `queue add/list/show --json`: one shape and the same values, whichever backend."""
    monkeypatch.setenv("BASSI_NOW", "2027-03-10T09:00:00.123456+00:00")
    first = add("a", "--prompt", "do a", "--priority", "2", "--var", "k=v")
    expected = {
        "id": 1,
        "name": "a",
        "prompt": "do a",
        "task": None,
        "priority": 2,
        "vars": {"k": "v"},
        "status": "pending",
        "attempts": 0,
        "max_attempts": 3,
        "worker": None,
        "lease_expires_at": None,
        "created_at": "2027-03-10T09:00:00.123+00:00",
        "started_at": None,
        "finished_at": None,
        "run_id": None,
        "result": None,
        "error": None,
    }
    assert first == expected
    add("b", "--prompt", "do b", "--max-attempts", "1")
    assert run_cli("queue", "cancel", "2")[:2] == (0, "cancelled item 2 'b'\n")
    code, out, _ = run_cli("queue", "show", "2", "--json")
    cancelled = json.loads(out)
    assert (cancelled["status"], cancelled["finished_at"]) == ("cancelled", "2027-03-10T09:00:00.123+00:00")
    assert run_cli("queue", "retry", "2")[:2] == (0, "item 2 'b' is pending again\n")
    code, out, _ = run_cli("queue", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and listed[0] == {key: value for key, value in expected.items() if key != "result"}
    assert listed[1] == {
        **listed[0],
        "id": 2,
        "name": "b",
        "prompt": "do b",
        "priority": 0,
        "vars": {},
        "max_attempts": 1,
    }
    code, out, _ = run_cli("queue", "show", "1", "--json")
    assert json.loads(out) == expected
    assert list(json.loads(out)) == list(expected)  # the same key order too


def test_cancel_and_retry_print_the_changed_item_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--json` prints exactly what `queue show --json` then shows: the item in its new state."""
    monkeypatch.setenv("BASSI_NOW", "2027-03-10T09:00:00.123456+00:00")
    add("a", "--prompt", "do a", "--var", "k=v")
    code, out, err = run_cli("queue", "cancel", "1", "--json")
    cancelled = json.loads(out)
    assert (code, err) == (0, "")
    assert cancelled == json.loads(run_cli("queue", "show", "1", "--json")[1])
    assert (cancelled["id"], cancelled["status"], cancelled["vars"]) == (1, "cancelled", {"k": "v"})
    assert cancelled["finished_at"] == "2027-03-10T09:00:00.123+00:00" and "result" in cancelled
    code, out, err = run_cli("queue", "retry", "1", "--json")
    retried = json.loads(out)
    assert (code, err) == (0, "")
    assert retried == json.loads(run_cli("queue", "show", "1", "--json")[1])
    assert (retried["status"], retried["attempts"], retried["finished_at"]) == ("pending", 0, None)


@pytest.mark.parametrize("command", ["cancel", "retry"])
def test_json_errors_stay_one_line_and_exit_2(command: str) -> None:
    add("a", "--prompt", "p")  # pending: it cannot be retried
    if command == "cancel":
        run_cli("queue", "cancel", "1")  # cancelled: it cannot be cancelled again
    code, out, err = run_cli("queue", command, "1", "--json")
    assert (code, out) == (2, "")
    assert err.startswith("bassi: error: queue item 1 is ") and err.count("\n") == 1
    code, out, err = run_cli("queue", command, "9", "--json")
    assert (code, out) == (2, "") and "no queue item 9" in err


def test_cancel_and_retry_json_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s3cr3t-value-for-the-queue"
    monkeypatch.setenv("DEPLOY_TOKEN", secret)
    add(f"deploy with {secret}", "--prompt", f"use {secret}")
    for command in ("cancel", "retry"):
        code, out, err = run_cli("queue", command, "1", "--json")
        item = json.loads(out)
        assert code == 0 and item["name"] == "deploy with [REDACTED]", command
        assert secret not in out + err, command
