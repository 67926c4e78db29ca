"""`bassi execute` with a task's `notify` targets: the real SDK against the fake Messages API,
the notifications against a real local webhook receiver (tests/runs/receiver.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.runs import notify
from bassi_ci.runs.locks import task_lock
from tests.cli import check_result, history_row, run_cli
from tests.fakeapi import FAKE_API_KEY, FakeMessagesAPI, FakeResponse, text, tool_use
from tests.runs.receiver import Receiver, dead_url

SECRET = "MARKER-0f-a-s3cret-value"


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "BACKOFF_S", (0.0, 0.0))


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def task_file(workspace: Path, notify_yaml: str) -> Path:
    path = workspace / "weekly.yaml"
    path.write_text(f"id: weekly\nprompt: Write the weekly report\nnotify:\n{notify_yaml}")
    return path


def execute_ci(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli("execute", *args, "--ci", env=env)
    document = check_result(out)
    assert document["exit_code"] == code
    return code, document, err


# --------------------------------------------------------------------------- which endings notify whom

ENDINGS: dict[str, tuple[list[FakeResponse], list[str]]] = {
    "success": ([text("Report written.")], []),
    "failed": ([text("FAILED: no data")], []),
    "limit_reached": ([tool_use(("bash", {"command": "true"}))], ["--max-turns", "1"]),
    "usage_error": ([], ["--var", "1bad=x"]),
}
WHENS = {"failure": "[failure]", "always": "always", "success": "[success]", "limit": "[limit_reached, usage_error]"}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_each_when_hears_of_its_endings(
    ending: str, fake_api: FakeMessagesAPI, receiver: Receiver, workspace: Path, isolated_home: Path
) -> None:
    base = f"http://{receiver.host}"
    targets = "".join(f"  - url: {base}/{name}\n    when: {when}\n" for name, when in WHENS.items())
    path = task_file(workspace, targets)
    responses, args = ENDINGS[ending]
    fake_api.enqueue(*responses)
    code, result, err = execute_ci(str(path), *args)
    exit_codes = {"success": 0, "failed": 1, "limit_reached": 5, "usage_error": 2}
    assert (code, result["status"]) == (exit_codes[ending], ending)
    assert "warning" not in err
    heard = {
        "success": ["/always", "/success"],
        "failed": ["/failure", "/always"],
        "limit_reached": ["/failure", "/always", "/limit"],
        "usage_error": ["/failure", "/always", "/limit"],
    }[ending]
    assert [request.path for request in receiver.requests] == heard
    for request in receiver.requests:  # every one of them the final result, as printed on stdout
        assert request.json() == result
    assert history_row(isolated_home, result["run_id"])["status"] == ending


def test_a_locked_run_is_notified(fake_api: FakeMessagesAPI, receiver: Receiver, workspace: Path) -> None:
    path = task_file(workspace, f"  - url: {receiver.url}\n    when: locked\n")
    with task_lock("weekly", wait=False):
        code, result, _ = execute_ci(str(path))
    assert code == 8 and receiver.payloads() == [result]


# --------------------------------------------------------------------------- formats and secrets


def test_slack_format_through_a_real_run(
    fake_api: FakeMessagesAPI, receiver: Receiver, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_HOOK", receiver.url)
    path = task_file(workspace, "  - url_env: TEAM_HOOK\n    format: slack\n")
    fake_api.enqueue(text("FAILED: the data source is down\nretry tomorrow"))
    code, result, err = execute_ci(str(path))
    assert code == 1 and "warning" not in err
    (message,) = receiver.payloads()
    assert message["text"].startswith("bassi: weekly failed (exit 1) · $")
    fields = [field["text"] for field in message["blocks"][1]["fields"]]
    assert fields[:2] == ["*Status*\nfailed (exit 1)", "*Task*\nweekly"]
    assert fields[2].startswith("*Cost*\n$") and fields[3].startswith("*Duration*\n")
    assert "```FAILED: the data source is down\nretry tomorrow```" in json.dumps(message, ensure_ascii=False).replace(
        "\\n", "\n"
    )
    assert result["run_id"] in message["blocks"][-1]["elements"][0]["text"]


def test_no_secret_reaches_any_payload(
    fake_api: FakeMessagesAPI, receiver: Receiver, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", SECRET)
    monkeypatch.setenv("TEAM_HOOK", receiver.url)
    path = task_file(
        workspace,
        "  - url_env: TEAM_HOOK\n    when: always\n  - url_env: TEAM_HOOK\n    when: always\n    format: slack\n",
    )
    leak = f"key {FAKE_API_KEY}, token {SECRET}, hook {receiver.url}"
    fake_api.enqueue(tool_use(("bash", {"command": 'echo "$DEPLOY_TOKEN"'})), text(f"FAILED: {leak}"))
    code, _, _ = execute_ci(str(path))
    assert code == 1 and len(receiver.requests) == 2
    for request in receiver.requests:
        body = request.body.decode()
        assert FAKE_API_KEY not in body and SECRET not in body and "SECRETPART" not in body
        assert "[REDACTED]" in body


# --------------------------------------------------------------------------- failures never change the run


def test_retries_on_500_then_success_leave_no_warning(
    fake_api: FakeMessagesAPI, receiver: Receiver, workspace: Path
) -> None:
    receiver.fail(500, 500)
    path = task_file(workspace, f"  - url: {receiver.url}\n")
    fake_api.enqueue(text("FAILED: nope"))
    code, _, err = execute_ci(str(path))
    assert code == 1 and len(receiver.requests) == 3 and "warning" not in err


@pytest.mark.parametrize("ending", ["success", "failed"])
def test_a_dead_receiver_leaves_exit_code_and_result_and_warns(
    ending: str, fake_api: FakeMessagesAPI, workspace: Path, isolated_home: Path
) -> None:
    url = dead_url()
    path = task_file(workspace, f"  - url: {url}\n    when: always\n")
    fake_api.enqueue(text("All good.") if ending == "success" else text("FAILED: broken"))
    code, result, err = execute_ci(str(path))
    assert (code, result["status"]) == ((0, "success") if ending == "success" else (1, "failed"))
    assert history_row(isolated_home, result["run_id"])["status"] == ending
    host = url.split("/")[2]
    warning = f"bassi: warning: notification 1 (json to {host}) failed: cannot connect: Connection refused"
    assert warning in err and f"note: notification 1 (json to {host}) failed" in err
    assert url not in err


def test_a_hanging_receiver_is_cut_at_the_timeout(
    fake_api: FakeMessagesAPI, receiver: Receiver, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify, "TIMEOUT_S", 0.3)
    receiver.hang_s = 10
    path = task_file(workspace, f"  - url: {receiver.url}\n")
    fake_api.enqueue(text("FAILED: nope"))
    code, _, err = execute_ci(str(path))
    assert code == 1 and "failed: no answer within 0.3 s" in err and len(receiver.requests) == 1


def test_an_unset_variable_is_a_warning_naming_it(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    path = task_file(workspace, "  - url_env: TEAM_HOOK\n")
    fake_api.enqueue(text("FAILED: nope"))
    code, _, err = execute_ci(str(path))
    assert code == 1 and "the environment variable TEAM_HOOK is not set" in err


def test_the_failure_is_in_the_github_step_summary(fake_api: FakeMessagesAPI, workspace: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    path = task_file(workspace, "  - url_env: TEAM_HOOK\n")
    fake_api.enqueue(text("FAILED: nope"))
    code, _, _ = execute_ci(str(path), env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert code == 1
    assert "> **Note:** notification 1 (json to $TEAM_HOOK) failed: the environment variable TEAM_HOOK" in (
        summary.read_text()
    )


# --------------------------------------------------------------------------- the environment's own target


def test_bassi_notify_url_adds_a_target_hidden_from_the_agent(
    fake_api: FakeMessagesAPI, receiver: Receiver, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASSI_NOTIFY_URL", receiver.url)
    monkeypatch.setenv("BASSI_NOTIFY_FORMAT", "slack")
    path = workspace / "plain.yaml"
    path.write_text("id: plain\nprompt: go\n")
    fake_api.enqueue(tool_use(("bash", {"command": 'echo "url=[$BASSI_NOTIFY_URL]" > seen.txt'})), text("FAILED: x"))
    code, _, _ = execute_ci(str(path))
    assert code == 1 and (workspace / "seen.txt").read_text() == "url=[]\n"
    (message,) = receiver.payloads()
    assert message["text"].startswith("bassi: plain failed (exit 1)")


def test_a_bad_environment_setting_is_a_usage_error_before_any_request(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASSI_NOTIFY_URL", "https://hooks.example/x")
    monkeypatch.setenv("BASSI_NOTIFY_WHEN", "failure, sometimes")
    path = task_file(workspace, "  - url_env: TEAM_HOOK\n")
    code, result, _ = execute_ci(str(path))
    assert code == 2 and "BASSI_NOTIFY_WHEN: unknown status 'sometimes'" in result["error"]["message"]
    assert fake_api.requests == []


# --------------------------------------------------------------------------- the task field


@pytest.mark.parametrize(
    ("notify_yaml", "message"),
    [
        ("  - when: always\n", "field 'notify[0]': expected a mapping with exactly one of 'url_env'"),
        ("  - url: ftp://files.example/x\n", "field 'notify[0].url': expected an http:// or https:// URL"),
        ("  - url_env: TEAM HOOK\n", "field 'notify[0].url_env': expected a variable name"),
        ("  - url_env: X\n    when: [sometimes]\n", "field 'notify[0].when[0]': expected one of failure, always"),
        ("  - url_env: X\n    format: xml\n", "field 'notify[0].format': expected one of json, slack"),
        ("  - url_env: X\n    fromat: slack\n", "unknown field 'fromat' in 'notify[0]' (did you mean 'format'?)"),
    ],
)
def test_a_bad_notify_entry_is_a_usage_error_naming_file_and_field(
    notify_yaml: str, message: str, fake_api: FakeMessagesAPI, workspace: Path
) -> None:
    path = task_file(workspace, notify_yaml)
    code, result, _ = execute_ci(str(path))
    assert code == 2 and result["error"]["message"].startswith(f"{path}: {message}")
    assert fake_api.requests == []


def test_a_url_with_a_password_is_refused_without_echoing_it(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    path = task_file(workspace, "  - url: https://me:pa55word@hooks.example/x\n")
    code, result, _ = execute_ci(str(path))
    assert code == 2 and "pa55word" not in json.dumps(result)
