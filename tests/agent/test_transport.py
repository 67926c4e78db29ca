"""API failures, retries, credentials, recording and replay — over real HTTP to the fake API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bassi_ci.agent.loop import Usage
from bassi_ci.agent.transport import RecordingTransport, ReplayTransport
from bassi_ci.errors import ExitCode, UsageError
from bassi_ci.runs.redact import Redactor
from tests.agent.helpers import make_request, run, transport
from tests.fakeapi import FakeMessagesAPI, cut_stream, error, stream_error, text, tool_use, trickle

EDIT = "str_replace_based_edit_tool"


def test_overloaded_rate_limited_and_server_errors_are_retried(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(
        error(529),
        error(429, error_type="rate_limit_error"),
        error(500, error_type="api_error"),
        error(503, error_type="api_error"),
        text("finally"),
    )

    outcome = run(make_request(workspace), via=transport(retries=2, sdk_max_retries=2))

    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert outcome.final_text == "finally"
    assert len(fake_api.requests) == 5
    assert outcome.num_turns == 1


def test_api_error_after_all_retries(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(*[error(529, message="Overloaded") for _ in range(12)])

    outcome = run(make_request(workspace), via=transport(retries=2, sdk_max_retries=2))

    assert outcome.exit_code is ExitCode.API_ERROR
    # (1 + 2 SDK retries) per attempt, 1 + 2 attempts of our own
    assert len(fake_api.requests) == 9
    assert outcome.error is not None and outcome.error.retryable
    assert "529" in str(outcome.error) and "Overloaded" in str(outcome.error)
    assert outcome.num_turns == 0


def test_cut_stream_is_retried(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(cut_stream(after_events=4), text("complete answer"))

    outcome = run(make_request(workspace), via=transport(retries=1))

    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert outcome.final_text == "complete answer"
    assert len(fake_api.requests) == 2


def test_cut_stream_without_retries_left_is_an_api_error(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(cut_stream(after_events=4))

    outcome = run(make_request(workspace), via=transport(retries=0))

    assert outcome.exit_code is ExitCode.API_ERROR
    assert "network error" in str(outcome.error)
    assert len(fake_api.requests) == 1


def test_error_event_inside_the_stream_is_retried(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(stream_error("overloaded_error"), text("recovered"))

    outcome = run(make_request(workspace), via=transport(retries=1))

    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert outcome.final_text == "recovered"
    assert len(fake_api.requests) == 2


def test_bad_key_is_an_auth_error_without_retries(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(error(401, error_type="authentication_error", message="invalid x-api-key"))

    outcome = run(make_request(workspace))

    assert outcome.exit_code is ExitCode.AUTH_ERROR
    assert len(fake_api.requests) == 1
    assert "ANTHROPIC_API_KEY" in str(outcome.error) and "invalid x-api-key" in str(outcome.error)
    assert "sk-ant-test-fake" not in str(outcome.error)


def test_invalid_request_is_permanent(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(error(400, error_type="invalid_request_error", message="model: not found"))

    outcome = run(make_request(workspace))

    assert outcome.exit_code is ExitCode.AUTH_ERROR
    assert len(fake_api.requests) == 1
    assert "model: not found" in str(outcome.error)


def test_no_key_names_the_variable(fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    fake_api.enqueue(text("never"))

    outcome = run(make_request(workspace))

    assert outcome.exit_code is ExitCode.AUTH_ERROR
    assert str(outcome.error).startswith("no API key: set ANTHROPIC_API_KEY")
    assert fake_api.requests == []


def test_auth_token_is_sent_as_bearer(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "token-123")
    fake_api.enqueue(text("ok"))

    outcome = run(make_request(workspace))

    assert outcome.exit_code is ExitCode.SUCCESS
    assert fake_api.requests[0].headers["authorization"] == "Bearer token-123"


def test_empty_queue_fails_fast(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    # An empty queue answers 500 with x-should-retry: false: nobody retries it.
    outcome = run(make_request(workspace))
    assert outcome.exit_code is ExitCode.API_ERROR
    assert len(fake_api.requests) == 1
    assert "no response queued" in str(outcome.error)


def _scripted_run(fake_api: FakeMessagesAPI) -> None:
    fake_api.enqueue(
        tool_use((EDIT, {"command": "create", "path": "src/app.py", "file_text": "print('v1')\n"})),
        tool_use(
            (EDIT, {"command": "str_replace", "path": "src/app.py", "old_str": "v1", "new_str": "v2"}),
            ("bash", {"command": "python3 src/app.py > out.txt"}),
        ),
        text("Updated the app."),
    )


def test_record_then_replay_gives_the_same_outcome_without_a_server(
    fake_api: FakeMessagesAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = tmp_path / "run.json"
    first_ws, second_ws = tmp_path / "first", tmp_path / "second"
    first_ws.mkdir()
    second_ws.mkdir()
    _scripted_run(fake_api)

    recorded = run(make_request(first_ws), via=RecordingTransport(transport(), recording))

    document = json.loads(recording.read_text())
    assert document["format"] == "bassi-recording" and len(document["messages"]) == 3
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    fake_api.stop()

    replayed = run(make_request(second_ws), via=ReplayTransport(recording))

    assert recorded.exit_code is replayed.exit_code is ExitCode.SUCCESS
    assert replayed.final_text == recorded.final_text == "Updated the app."
    assert replayed.num_turns == recorded.num_turns == 3
    assert replayed.usage == recorded.usage
    assert replayed.total_cost_usd == recorded.total_cost_usd
    assert replayed.files_changed == recorded.files_changed == ["out.txt", "src/app.py"]
    for name in ("src/app.py", "out.txt"):
        assert (second_ws / name).read_text() == (first_ws / name).read_text()
    assert (second_ws / "out.txt").read_text() == "v2\n"


def test_replay_that_runs_out_is_a_usage_error(tmp_path: Path) -> None:
    recording = tmp_path / "short.json"
    message = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": "true"}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
    recording.write_text(json.dumps({"messages": [message]}))
    workspace = tmp_path / "ws"
    workspace.mkdir()

    outcome = run(make_request(workspace), via=ReplayTransport(recording))

    assert outcome.exit_code is ExitCode.USAGE_ERROR
    assert "has 1 responses" in str(outcome.error) and "response 2" in str(outcome.error)
    assert outcome.num_turns == 1


def test_replay_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the recording"):
        ReplayTransport(tmp_path / "missing.json")


def test_fake_api_runs_as_a_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            [
                {"type": "error", "status": 529, "retry_after_ms": 1},
                {"type": "tool_use", "calls": [["bash", {"command": "echo hi > hi.txt"}]]},
                {"type": "text", "text": "done"},
            ]
        )
    )
    log = tmp_path / "requests.jsonl"
    root = Path(__file__).parents[2]
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeapi", "--port", "0", "--script", str(script), "--requests-log", str(log)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-fake")
        workspace = tmp_path / "ws"
        workspace.mkdir()

        outcome = run(make_request(workspace))

        assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
        assert (workspace / "hi.txt").read_text() == "hi\n"
        assert len(log.read_text().splitlines()) == 3
    finally:
        server.terminate()
        assert server.wait(timeout=5) == 0


def test_deadline_caps_sdk_retries(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    # A server that asks for a 5 s pause: the run must not sleep past its deadline.
    fake_api.enqueue(*[error(529, retry_after_ms=5_000) for _ in range(3)])
    started = time.monotonic()

    outcome = run(make_request(workspace, deadline=time.monotonic() + 1.0), via=transport())

    assert outcome.exit_code is ExitCode.TIMEOUT
    assert time.monotonic() - started < 4  # well under the 5 s the server asked for
    assert len(fake_api.requests) == 1


def test_recording_is_redacted_and_the_run_is_not(fake_api: FakeMessagesAPI, workspace: Path, tmp_path: Path) -> None:
    secret = "hunter2-very-secret"
    recording = tmp_path / "run.json"
    fake_api.enqueue(tool_use(("bash", {"command": f"echo {secret} > token.txt"})), text(f"Stored {secret}."))

    outcome = run(
        make_request(workspace), via=RecordingTransport(transport(), recording, redact=Redactor([secret]).data)
    )

    assert outcome.final_text == f"Stored {secret}."
    assert (workspace / "token.txt").read_text() == f"{secret}\n"
    saved = recording.read_text()
    assert secret not in saved and saved.count("[REDACTED]") == 2
    assert len(json.loads(saved)["messages"]) == 2


def test_replayed_bogus_usage_counts_nothing(tmp_path: Path) -> None:
    recording = tmp_path / "bogus.json"
    message = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "done"}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": -1000,
            "output_tokens": True,
            "cache_creation_input_tokens": 1.5,
            "cache_read_input_tokens": "12",
        },
    }
    recording.write_text(json.dumps({"messages": [message]}))
    workspace = tmp_path / "ws"
    workspace.mkdir()

    outcome = run(make_request(workspace), via=ReplayTransport(recording))

    assert outcome.exit_code is ExitCode.SUCCESS
    assert outcome.usage == Usage() and outcome.total_cost_usd == 0


def test_a_trickling_stream_is_cut_at_the_deadline(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    # 8 bytes every 0.2 s: no read ever times out, and the first event alone takes ~8 s.
    fake_api.enqueue(trickle(0.2, text("slow " * 100)))
    started = time.monotonic()

    outcome = run(make_request(workspace, deadline=time.monotonic() + 1.5), via=transport())

    assert outcome.exit_code is ExitCode.TIMEOUT, outcome.error
    assert time.monotonic() - started < 6  # the first event alone would take ~8 s
    assert len(fake_api.requests) == 1
