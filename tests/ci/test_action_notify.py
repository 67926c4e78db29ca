"""The action's notify-url input (`bassi ci action-run` as action.yml runs it) against the fake
Messages API and a local webhook receiver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ci.helpers import action_run, runner_env
from tests.fakeapi import FakeMessagesAPI, text, tool_use
from tests.runs.receiver import Receiver

KEY = "sk-test-key-0123456789"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_a_failed_run_posts_a_slack_message_the_agent_never_saw_the_url(
    fake_api: FakeMessagesAPI, receiver: Receiver, work: Path, tmp_path: Path
) -> None:
    fake_api.enqueue(
        tool_use(("bash", {"command": 'env > seen.txt; echo "[$BASSI_NOTIFY_URL]" >> seen.txt'})),
        text("FAILED: the report could not be written"),
    )
    code, outputs, log = action_run(work, tmp_path, prompt="Write it", anthropic_api_key=KEY, notify_url=receiver.url)
    assert (code, outputs["status"]) == (1, "failed")
    assert f"::add-mask::{receiver.url}" in log
    (message,) = receiver.payloads()
    assert message["text"].startswith("bassi: adhoc failed (exit 1) · $")
    assert any("FAILED: the report could not be written" in json.dumps(block) for block in message["blocks"])
    seen = (work / "seen.txt").read_text()
    assert "SECRETPART" not in seen and seen.endswith("[]\n")  # the agent's commands never get the URL
    assert "SECRETPART" not in unmasked(log)


def unmasked(log: str) -> str:
    """The log but its ::add-mask:: lines (which must name the secret, so GitHub hides it)."""
    return "".join(line for line in log.splitlines(keepends=True) if not line.startswith("::add-mask::"))


def test_a_success_is_not_notified_by_default(
    fake_api: FakeMessagesAPI, receiver: Receiver, work: Path, tmp_path: Path
) -> None:
    fake_api.enqueue(text("All good."))
    code, outputs, _ = action_run(work, tmp_path, prompt="Do it", anthropic_api_key=KEY, notify_url=receiver.url)
    assert (code, outputs["status"]) == (0, "success") and receiver.requests == []


def test_json_always_sends_the_result_file(
    fake_api: FakeMessagesAPI, receiver: Receiver, work: Path, tmp_path: Path
) -> None:
    fake_api.enqueue(text("All good."))
    code, outputs, _ = action_run(
        work,
        tmp_path,
        prompt="Do it",
        anthropic_api_key=KEY,
        notify_url=receiver.url,
        notify_format="json",
        notify_when="always",
    )
    assert code == 0
    assert receiver.payloads() == [json.loads(Path(outputs["result-file"]).read_text())]


def test_a_dead_receiver_changes_neither_outputs_nor_exit_code_and_says_so_in_the_summary(
    fake_api: FakeMessagesAPI, receiver: Receiver, work: Path, tmp_path: Path
) -> None:
    receiver.fail(400)
    fake_api.enqueue(text("FAILED: broken"))
    env = runner_env(tmp_path)
    code, outputs, log = action_run(work, tmp_path, env, prompt="Do it", anthropic_api_key=KEY, notify_url=receiver.url)
    assert (code, outputs["status"], outputs["exit-code"]) == (1, "failed", "1")
    warning = f"bassi: warning: notification 1 (slack to {receiver.host}) failed: HTTP 400"
    assert warning in log and "SECRETPART" not in unmasked(log)
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert f"> **Note:** notification 1 (slack to {receiver.host}) failed: HTTP 400" in summary


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"notify_format": "xml"}, "notify-format: expected one of json, slack, got 'xml'"),
        ({"notify_when": "failure,never"}, "notify-when: unknown status 'never'"),
    ],
)
def test_a_bad_notify_input_is_a_usage_error(
    inputs: dict[str, str], message: str, fake_api: FakeMessagesAPI, receiver: Receiver, work: Path, tmp_path: Path
) -> None:
    all_inputs = {"prompt": "Do it", "anthropic_api_key": KEY, "notify_url": receiver.url, **inputs}
    code, outputs, log = action_run(work, tmp_path, None, **all_inputs)
    assert (code, outputs["status"]) == (2, "usage_error") and message in log
    assert fake_api.requests == []
