"""A task's `output_schema`: what the task file accepts, what bassi refuses and how it says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bassi_ci.errors import TaskFileError, UsageError
from bassi_ci.tasks.loader import load_task_file
from bassi_ci.tasks.model import task_from_dict
from bassi_ci.tasks.output_schema import (
    MAX_OUTPUT_SCHEMA_BYTES,
    OutputSchemaError,
    check_output_schema,
    task_output_schema,
)

YAML_TASK = """\
id: review
prompt: review it
output_schema:
  type: object
  required: [verdict]
  properties:
    verdict: {enum: [pass, fail]}
    seen: {type: string, default: 2027-03-10}
"""


def test_an_inline_yaml_schema_loads_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "review.yaml"
    path.write_text(YAML_TASK.replace("default: 2027-03-10", "default: '2027-03-10'"))
    task = load_task_file(path)
    assert isinstance(task.output_schema, dict)
    assert task.output_schema["required"] == ["verdict"]
    again = task_from_dict(task.to_dict(), source=path)
    assert again.output_schema == task.output_schema


def test_a_yaml_date_inside_the_schema_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "review.yaml"
    path.write_text(YAML_TASK)
    with pytest.raises(TaskFileError) as caught:
        load_task_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: field 'output_schema': ") and "quote dates" in message


def test_a_path_is_kept_as_written_and_read_at_run_time(tmp_path: Path) -> None:
    path = tmp_path / "review.yaml"
    path.write_text("id: review\nprompt: p\noutput_schema: schemas/missing.json\n")
    task = load_task_file(path)  # loading never reads the schema file: `schedule list` stays fast
    assert task.output_schema == "schemas/missing.json"
    assert task.to_dict()["output_schema"] == "schemas/missing.json"
    with pytest.raises(OutputSchemaError, match=r"schemas/missing\.json: cannot read the output schema"):
        task_output_schema(task.output_schema, task.source)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", "expected a JSON Schema object .* or the path"),
        ("[1]", "expected a JSON Schema object .* or the path"),
        ("true", "expected a JSON Schema object .* or the path"),
        ("''", "expected a non-empty text"),
    ],
)
def test_the_field_must_be_an_object_or_a_path(tmp_path: Path, value: str, expected: str) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(f"id: t\nprompt: p\noutput_schema: {value}\n")
    with pytest.raises(TaskFileError, match=f"field 'output_schema': {expected}"):
        load_task_file(path)


def test_the_size_cap_is_on_compact_json() -> None:
    # Just under the cap passes, one byte more does not: the cap is what the API is sent.
    base = {"type": "object", "description": ""}
    room = MAX_OUTPUT_SCHEMA_BYTES - len(json.dumps(base, separators=(",", ":")))
    assert check_output_schema({**base, "description": "x" * room})
    with pytest.raises(OutputSchemaError, match="65,537 bytes of JSON; at most 64 KiB"):
        check_output_schema({**base, "description": "x" * (room + 1)})


def test_what_is_accepted_is_what_jsonschema_itself_accepts() -> None:
    # The oracle: jsonschema's own meta-schema check agrees on every case here.
    cases: list[dict[str, Any]] = [
        {"type": "object", "properties": {"a": {"type": "integer", "minimum": 0}}},
        {"type": "object", "$defs": {"n": {"type": "number"}}, "properties": {"a": {"$ref": "#/$defs/n"}}},
        {"type": "object", "properties": {"a": {"minimum": "zero"}}},
        {"type": "object", "additionalProperties": 5},
        {"type": "object", "prefixItems": {}},
    ]
    for schema in cases:
        try:
            Draft202012Validator.check_schema(schema)
            valid = True
        except Exception:
            valid = False
        try:
            check_output_schema(schema)
            accepted = True
        except OutputSchemaError:
            accepted = False
        assert accepted == valid, schema


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "$defs": {"x": {"$anchor": "named"}}, "properties": {"a": {"$ref": "#named"}}},
        {
            "$id": "https://example.com/s.json",
            "type": "object",
            "$defs": {"x": {}},
            "properties": {"a": {"$ref": "#/$defs/x"}},
        },
        {"type": "object", "properties": {"self": {"$ref": "#"}}},
    ],
)
def test_references_inside_the_schema_are_accepted(schema: dict[str, Any]) -> None:
    assert check_output_schema(schema) == schema
    Draft202012Validator(schema).validate({"a": 1} if "a" in schema["properties"] else {"self": {}})


def test_an_output_schema_error_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        check_output_schema([])


def test_a_relative_path_needs_a_task_file() -> None:
    with pytest.raises(OutputSchemaError, match="needs a task file"):
        task_output_schema("schema.json", None)
