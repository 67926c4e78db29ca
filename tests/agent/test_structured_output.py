"""Structured output end to end: `bassi execute --ci` through the real anthropic SDK against the
fake Messages API — the tool offered, bassi's own validation, the one retry, the one reminder,
`invalid_output`, and bad schemas refused before any request is made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli import check_result, run_cli
from tests.fakeapi import FakeMessagesAPI, text, tool_use

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["verdict", "findings"],
    "properties": {
        "verdict": {"enum": ["pass", "fail"]},
        "findings": {"type": "array", "items": {"type": "string"}},
    },
}
VALID = {"verdict": "fail", "findings": ["README is out of date"]}
INVALID = {"verdict": "fail", "findings": ["ok", 3]}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def task_file(folder: Path, schema: object) -> Path:
    """A JSON task file (JSON keeps the schema exactly as the test states it)."""
    path = folder / "review.json"
    path.write_text(json.dumps({"id": "review", "prompt": "review the repo", "output_schema": schema}))
    return path


def execute_ci(*args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli("execute", *args, "--ci")
    return code, check_result(out), err


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [block for block in body["messages"][-1]["content"] if block.get("type") == "tool_result"]


def test_a_valid_first_answer_ends_the_run_with_it(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(tool_use(("structured_output", VALID), text="Reviewed."))

    code, result, err = execute_ci(str(task_file(workspace, SCHEMA)))

    assert code == 0, err
    assert result["status"] == "success"
    assert result["structured_output"] == VALID
    assert result["result"] == "Reviewed."
    # No further API call after the accepted answer.
    assert len(fake_api.requests) == 1
    body = fake_api.requests[0].body
    offered = body["tools"][-1]
    assert offered["name"] == "structured_output"
    assert offered["input_schema"] == SCHEMA
    assert "structured_output" in json.dumps(body["system"])


def test_an_invalid_answer_goes_back_once_and_a_valid_one_then_counts(
    fake_api: FakeMessagesAPI, workspace: Path
) -> None:
    fake_api.enqueue(tool_use(("structured_output", INVALID)), tool_use(("structured_output", VALID)))

    code, result, err = execute_ci(str(task_file(workspace, SCHEMA)))

    assert code == 0, err
    assert result["structured_output"] == VALID
    assert len(fake_api.requests) == 2
    (returned,) = tool_results(fake_api.requests[1].body)
    assert returned["is_error"] is True
    assert "at /findings/1: 3 is not of type 'string'" in returned["content"]


def test_an_invalid_answer_twice_is_invalid_output(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(tool_use(("structured_output", INVALID)), tool_use(("structured_output", {"verdict": "maybe"})))

    code, result, err = execute_ci(str(task_file(workspace, SCHEMA)))

    assert code == 1
    assert result["status"] == "failed"
    assert result["error"]["type"] == "invalid_output"
    assert "invalid twice" in result["error"]["message"]
    assert result["structured_output"] is None
    assert len(fake_api.requests) == 2
    assert "invalid_output" in err


def test_no_answer_gets_one_reminder_then_fails(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(text("All looks fine."), text("Still fine."))

    code, result, _ = execute_ci(str(task_file(workspace, SCHEMA)))

    assert code == 1
    assert result["error"]["type"] == "invalid_output"
    assert "even after a reminder" in result["error"]["message"]
    assert result["structured_output"] is None
    assert len(fake_api.requests) == 2
    reminder = fake_api.requests[1].body["messages"][-1]
    assert reminder["role"] == "user"
    assert "structured_output" in reminder["content"][-1]["text"]


def test_the_reminder_can_bring_the_answer(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(text("Done."), tool_use(("structured_output", VALID)))

    code, result, err = execute_ci(str(task_file(workspace, SCHEMA)))

    assert code == 0, err
    assert result["structured_output"] == VALID
    assert result["num_turns"] == 2


def test_a_failed_marker_fails_without_a_reminder(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(text("FAILED: the repository is empty"))

    code, result, _ = execute_ci(str(task_file(workspace, SCHEMA)))

    assert code == 1
    assert result["error"]["type"] == "RunFailed"
    assert len(fake_api.requests) == 1


def test_without_a_schema_there_is_no_tool_and_the_field_is_null(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(text("hello"))

    code, result, err = execute_ci("--prompt", "say hello")

    assert code == 0, err
    assert result["structured_output"] is None
    names = [tool["name"] for tool in fake_api.requests[0].body.get("tools", [])]
    assert "structured_output" not in names


def test_the_answer_is_redacted_like_every_output(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-deploy-value-4411"
    monkeypatch.setenv("DEPLOY_TOKEN", secret)
    fake_api.enqueue(tool_use(("structured_output", {"verdict": "pass", "findings": [f"token is {secret}"]})))

    code, result, err = execute_ci(str(task_file(workspace, SCHEMA)))

    assert code == 0, err
    assert result["structured_output"]["findings"] == ["token is [REDACTED]"]
    assert secret not in json.dumps(result) and secret not in err


def test_a_schema_file_is_relative_to_the_task_file(fake_api: FakeMessagesAPI, workspace: Path, tmp_path: Path) -> None:
    tasks = tmp_path / "elsewhere" / "tasks"
    (tasks / "schemas").mkdir(parents=True)
    (tasks / "schemas" / "review.json").write_text(json.dumps(SCHEMA, indent=2))
    path = task_file(tasks, "schemas/review.json")
    fake_api.enqueue(tool_use(("structured_output", VALID)))

    code, result, err = execute_ci(str(path))  # the current directory is the workspace, not the tasks folder

    assert code == 0, err
    assert result["structured_output"] == VALID
    assert fake_api.requests[0].body["tools"][-1]["input_schema"] == SCHEMA


def test_output_schema_option_replaces_the_tasks(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    other = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    (workspace / "count.json").write_text(json.dumps(other))
    fake_api.enqueue(tool_use(("structured_output", {"n": 3})))

    code, result, err = execute_ci(str(task_file(workspace, SCHEMA)), "--output-schema", "count.json")

    assert code == 0, err
    assert result["structured_output"] == {"n": 3}
    assert fake_api.requests[0].body["tools"][-1]["input_schema"] == other


BAD_SCHEMAS = [
    pytest.param({"type": "objekt"}, "not a valid JSON Schema (draft 2020-12) at /type", id="bad-type"),
    pytest.param({"type": "object", "required": "verdict"}, "at /required", id="bad-required"),
    pytest.param({"type": "array", "items": {}}, 'root must be "type": "object"', id="root-array"),
    pytest.param({"properties": {}}, 'root must be "type": "object"', id="root-untyped"),
    pytest.param(
        {"type": "object", "properties": {"a": {"$ref": "https://example.com/a.json"}}},
        "only references inside the schema",
        id="remote-ref",
    ),
    pytest.param(
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}},
        "$ref '#/$defs/missing' points to nothing in the schema",
        id="dangling-ref",
    ),
    pytest.param(
        {"type": "object", "description": "x" * (64 * 1024)}, "at most 64 KiB is allowed", id="over-the-size-cap"
    ),
]


@pytest.mark.parametrize(("schema", "expected"), BAD_SCHEMAS)
def test_a_bad_inline_schema_is_a_usage_error_before_any_request(
    fake_api: FakeMessagesAPI, workspace: Path, schema: dict[str, Any], expected: str
) -> None:
    code, result, _ = execute_ci(str(task_file(workspace, schema)))

    assert code == 2
    assert result["status"] == "usage_error"
    assert expected in result["error"]["message"]
    assert "field 'output_schema'" in result["error"]["message"]
    assert fake_api.requests == []


@pytest.mark.parametrize(("schema", "expected"), BAD_SCHEMAS)
def test_a_bad_schema_file_is_a_usage_error_before_any_request(
    fake_api: FakeMessagesAPI, workspace: Path, schema: dict[str, Any], expected: str
) -> None:
    (workspace / "schema.json").write_text(json.dumps(schema))

    code, result, _ = execute_ci(str(task_file(workspace, "schema.json")))

    assert code == 2
    assert expected in result["error"]["message"]
    assert result["error"]["type"] == "OutputSchemaError"
    assert fake_api.requests == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(None, "cannot read the output schema", id="missing"),
        pytest.param("{not json", "is not valid JSON", id="not-json"),
        pytest.param(" " * (256 * 1024 + 1), "larger than 256 KiB", id="file-over-its-cap"),
    ],
)
def test_an_unreadable_output_schema_option_is_a_usage_error(
    fake_api: FakeMessagesAPI, workspace: Path, content: str | None, expected: str
) -> None:
    if content is not None:
        (workspace / "schema.json").write_text(content)

    code, result, err = execute_ci("--prompt", "p", "--output-schema", "schema.json")

    assert code == 2
    message = result["error"]["message"]
    assert message.startswith("--output-schema schema.json: ") and expected in message
    assert "Traceback" not in err
    assert fake_api.requests == []


def test_a_bad_schema_without_ci_is_one_line_and_exit_2(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    (workspace / "schema.json").write_text(json.dumps({"type": "string"}))

    code, _, err = run_cli("execute", "--prompt", "p", "--output-schema", "schema.json")

    assert code == 2
    assert "root must be" in err and "Traceback" not in err
    assert fake_api.requests == []


def test_output_schema_is_refused_with_next(workspace: Path) -> None:
    (workspace / "schema.json").write_text(json.dumps(SCHEMA))

    code, result, _ = execute_ci("--next", "--output-schema", "schema.json")

    assert code == 2
    assert "--output-schema: not with --next" in result["error"]["message"]


def test_the_other_calls_of_the_answering_reply_still_run(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "echo seen > out.txt"}), ("structured_output", VALID)))

    code, result, err = execute_ci(str(task_file(workspace, SCHEMA)), "--tools", "bash")

    assert code == 0, err
    assert (workspace / "out.txt").read_text() == "seen\n"
    assert result["files_changed"] == ["out.txt"]
    assert result["permission_denials"] == []  # the tool is not subject to the allow-list
    assert [tool["name"] for tool in fake_api.requests[0].body["tools"]] == ["bash", "structured_output"]
    assert len(fake_api.requests) == 1
