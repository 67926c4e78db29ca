"""The action's `output-schema` / `output-schema-file` inputs and its `structured-output` output,
through `bassi ci action-run` with a real $GITHUB_OUTPUT file, against the fake Messages API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ci.helpers import action_run, parse_outputs
from tests.fakeapi import FakeMessagesAPI, text, tool_use

SCHEMA = {
    "type": "object",
    "required": ["verdict", "notes"],
    "properties": {"verdict": {"enum": ["pass", "fail"]}, "notes": {"type": "string"}},
}
# A value with a newline and what looks like a heredoc delimiter: the output must stay one value.
VALID = {"verdict": "pass", "notes": "line one\nghadelimiter_0\nläuft"}
KEY = "sk-test-key-0123456789"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_inline_schema_gives_the_structured_output(work: Path, tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.enqueue(tool_use(("structured_output", VALID), text="Checked."))

    code, outputs, log = action_run(
        work, tmp_path, prompt="check it", anthropic_api_key=KEY, output_schema=json.dumps(SCHEMA, indent=2)
    )

    assert code == 0, log
    assert json.loads(outputs["structured-output"]) == VALID
    assert "\n" not in outputs["structured-output"]  # compact JSON text: one line, whatever the value
    assert outputs["result"] == "Checked."
    assert fake_api.requests[0].body["tools"][-1]["input_schema"] == SCHEMA
    result = json.loads(Path(outputs["result-file"]).read_text())
    assert result["structured_output"] == VALID
    # The checked copy of the schema handed to `bassi execute` is gone afterwards.
    assert not list((tmp_path / "runner-temp").glob("bassi-schema-*"))


def test_every_output_line_is_a_heredoc_with_a_random_delimiter(
    work: Path, tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.enqueue(tool_use(("structured_output", VALID)))
    code, _, log = action_run(work, tmp_path, prompt="p", anthropic_api_key=KEY, output_schema=json.dumps(SCHEMA))
    assert code == 0, log
    raw = (tmp_path / "github_output").read_text()
    line = next(line for line in raw.splitlines() if line.startswith("structured-output<<"))
    delimiter = line.split("<<", 1)[1]
    assert delimiter.startswith("ghadelimiter_") and len(delimiter) > len("ghadelimiter_") + 16
    assert json.loads(parse_outputs(raw)["structured-output"]) == VALID


def test_schema_file_is_relative_to_the_working_directory(
    work: Path, tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    (work / "schemas").mkdir()
    (work / "schemas" / "verdict.json").write_text(json.dumps(SCHEMA))
    fake_api.enqueue(tool_use(("structured_output", VALID)))

    code, outputs, log = action_run(
        tmp_path,
        tmp_path,
        prompt="p",
        anthropic_api_key=KEY,
        working_directory="work",
        output_schema_file="schemas/verdict.json",
    )

    assert code == 0, log
    assert json.loads(outputs["structured-output"]) == VALID


def test_no_schema_gives_null(work: Path, tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.enqueue(text("hi"))
    code, outputs, log = action_run(work, tmp_path, prompt="p", anthropic_api_key=KEY)
    assert code == 0, log
    assert outputs["structured-output"] == "null"


def test_invalid_output_fails_the_step_with_null(work: Path, tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.enqueue(text("done"), text("really done"))
    code, outputs, log = action_run(work, tmp_path, prompt="p", anthropic_api_key=KEY, output_schema=json.dumps(SCHEMA))
    assert code == 1, log
    assert outputs["status"] == "failed" and outputs["structured-output"] == "null"
    result = json.loads(Path(outputs["result-file"]).read_text())
    assert result["error"]["type"] == "invalid_output"


ROOT_NOT_OBJECT = 'output-schema: the output schema\'s root must be "type": "object"'


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        pytest.param({"output_schema": "{nope"}, "output-schema: not valid JSON", id="not-json"),
        pytest.param({"output_schema": '{"type": "string"}'}, ROOT_NOT_OBJECT, id="root"),
        pytest.param(
            {"output_schema": '{"type": "object", "minProperties": -1}'},
            "output-schema: not a valid JSON Schema",
            id="invalid",
        ),
        pytest.param({"output_schema_file": "missing.json"}, "output-schema-file: ", id="missing-file"),
        pytest.param(
            {"output_schema": json.dumps(SCHEMA), "output_schema_file": "x.json"}, "give one of them", id="both"
        ),
    ],
)
def test_a_bad_schema_input_is_exit_2_before_any_request(
    work: Path, tmp_path: Path, fake_api: FakeMessagesAPI, inputs: dict[str, str], expected: str
) -> None:
    code, outputs, log = action_run(work, tmp_path, None, prompt="p", anthropic_api_key=KEY, **inputs)
    assert code == 2, log
    assert outputs["status"] == "usage_error" and outputs["structured-output"] == "null"
    result = json.loads(Path(outputs["result-file"]).read_text())
    assert expected in result["error"]["message"]
    assert "Traceback" not in log
    assert fake_api.requests == []
