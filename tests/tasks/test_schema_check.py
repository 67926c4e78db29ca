"""The fast schema check (fastjsonschema, tasks/schema.py) may only ever say yes where jsonschema
says yes too: a record it accepts is loaded without asking jsonschema."""

from __future__ import annotations

import copy
import datetime
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from bassi_ci.tasks import schema
from bassi_ci.tasks.loader import load_task_file
from bassi_ci.tasks.schema import compiled_schema_path, passes_task_schema, task_schema

REPO = Path(__file__).parents[2]
JUDGE = Draft202012Validator(task_schema())

FULL = {
    "id": "weekly-report",
    "name": "Weekly report",
    "description": "d",
    "prompt": "Summarise {date}",
    "schedule": "monday 09:00",
    "timezone": "Europe/Berlin",
    "enabled": True,
    "model": "claude-sonnet-4-5",
    "limits": {"timeout": "30m", "max_turns": 12, "max_budget_usd": 0.5},
    "tools": ["bash", "str_replace_based_edit_tool", "mcp__calc__add"],
    "mcp_servers": {
        "calc": {"command": "calc-mcp", "args": ["-v"], "env": {"LEVEL": "1"}},
        "docs": {"type": "http", "url": "https://mcp.example/x", "headers": {"X-$Key": "Bearer ${TOKEN}"}},
    },
    "workdir": ".",
    "retries": 2,
    "catch_up": False,
    "commit": {"paths": ["reports/*.md"], "message": "m", "branch": "b", "pull_request": False, "on_failure": "branch"},
    "notify": [{"url_env": "HOOK", "when": ["failed", "timeout"], "format": "slack"}, {"url": "https://h.example/x"}],
    "output_schema": {"type": "object"},
    "vars": {"team": "platform", "year": 2027, "on": True},
}


@pytest.fixture(autouse=True)
def fresh_compiled_check() -> Iterator[None]:
    """Each test meets the compiled check as a new process does (it is cached per process)."""
    schema._compiled_check.cache_clear()
    yield
    schema._compiled_check.cache_clear()


def test_valid_records_take_the_fast_path() -> None:
    example = yaml.safe_load((REPO / "examples" / "weekly-report" / "task.yaml").read_text())
    for record in (FULL, example, {"name": "n", "prompt": "p"}):
        assert JUDGE.is_valid(record)
        assert passes_task_schema(record), record


def test_the_check_leaves_the_record_as_it_was() -> None:
    """fastjsonschema fills in the schema's defaults unless told not to."""
    record = {"id": "x", "prompt": "p", "commit": {"paths": ["a"]}, "notify": [{"url_env": "HOOK"}]}
    before = copy.deepcopy(record)
    assert passes_task_schema(record)
    assert record == before


def test_the_shared_schema_is_not_rewritten() -> None:
    """fastjsonschema makes the `$ref`s of its schema absolute, in place; jsonschema resolves the
    relative ones of task_schema() elsewhere (the `.mcp.json` check)."""
    assert passes_task_schema(FULL)
    assert task_schema() == json.loads((REPO / "bassi_ci" / "schemas" / "task.schema.json").read_text())


@pytest.mark.parametrize(
    "change",
    [
        {"id": "Not A Slug"},
        {"prompt": ""},
        {"limits": {"timeout": 0}},
        {"limits": {"max_turns": True}},
        {"tools": ["bash", "bash"]},
        {"mcp_servers": {"docs": {"type": "http"}}},
        {"mcp_servers": {"docs": {"type": "http", "url": "https://x", "headers": {"Bad Name": "v"}}}},
        {"notify": [{"url_env": "A", "url": "https://x"}]},
        {"vars": {"9x": "v"}},
        {"unknown": 1},
    ],
)
def test_invalid_records_are_refused_by_both(change: dict[str, Any]) -> None:
    record = {**FULL, **change}
    assert not JUDGE.is_valid(record)
    assert not passes_task_schema(record)


def test_a_refusal_the_judge_overrules_still_loads(tmp_path: Path) -> None:
    """Where fastjsonschema is stricter (its `$` is the very end of the text, jsonschema's also
    before a final newline), jsonschema decides: the file loads as it always did."""
    record = {"name": "n", "prompt": "p", "model": "claude\n"}
    assert JUDGE.is_valid(record) and not passes_task_schema(record)
    path = tmp_path / "t.json"
    path.write_text('{"name": "n", "prompt": "p", "model": "claude\\n"}')
    assert load_task_file(path).model == "claude\n"


@pytest.mark.parametrize(
    "change",
    [
        {"tools": ()},  # a tuple: fastjsonschema alone would take it for an array
        {"commit": {"paths": ("a",)}},
        {"mcp_servers": {"calc": {"command": "x", "args": ()}}},
        {"vars": {1: "one"}},
        {"vars": {"day": datetime.date(2027, 1, 1)}},
        {"output_schema": {"type": "object", "x": {1, 2}}},
        {"description": b"bytes"},
    ],
)
def test_what_json_cannot_hold_is_left_to_jsonschema(change: dict[str, Any]) -> None:
    record = {**FULL, **change}
    assert not passes_task_schema(record)


NEAR_MISSES = [
    *("", "x", " ", "a\nb", "x\n", "a\u202eb", "$x", "${URL}", "a-b", "a--b", "A_1", "1a", "30m", "0m", "2h\n"),
    *("bash", "ask_user", "mcp__a", "mcp__a__b", "mcp__A", "mcp_a", "stdio", "http", "json", "slack"),
    *("failure", "always", "discard", "branch", "https://x.example/y", "http://u:p@x", "https://x y"),
]
KEYS = st.one_of(st.text(max_size=5), st.sampled_from(["type", "url", "command", "A"]))
# Values of every kind a YAML or JSON file can hold, and some near misses of the schema's rules.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 10, 10000, 10001, 604800, 604801, 1.0, 0.5, 1e309, float("nan"), -0.0]),
    st.integers(),
    st.floats(),
    st.sampled_from(NEAR_MISSES),
    st.text(max_size=6),
    st.dates(),
    st.binary(max_size=3),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=2).map(tuple),  # YAML's !!pairs and !!omap hold tuples
        st.dictionaries(KEYS, inner, max_size=3),
        st.dictionaries(st.integers(0, 3), inner, max_size=2),
    ),
    max_leaves=6,
)


def places(value: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) of a record: each mapping's fields, each list's entries."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield value, key
            yield from places(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield value, index
            yield from places(item)


def lookalike(value: Any) -> Any:
    """The same content in a type YAML can make but JSON cannot."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return {**value, 1: "one"}
    if isinstance(value, str):
        return value.encode()
    return datetime.date(2027, 1, 1)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record (some of FULL's fields) with up to two places changed to anything, or removed:
    about half are still valid, so the property below is put to the test where it matters."""
    record = copy.deepcopy({key: value for key, value in FULL.items() if key == "prompt" or draw(st.booleans())})
    for _ in range(draw(st.integers(0, 2))):
        container, key = draw(st.sampled_from(list(places(record))))
        how = draw(st.sampled_from(["anything", "anything", "lookalike", "remove"]))
        if how == "remove" and isinstance(container, dict):
            del container[key]
        elif how == "lookalike":
            container[key] = lookalike(container[key])
        else:
            container[key] = draw(VALUES)
    return record


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_whatever_the_fast_check_accepts_jsonschema_accepts(record: dict[str, Any]) -> None:
    if passes_task_schema(record):
        assert JUDGE.is_valid(record), record


def test_the_compiled_schema_is_kept_in_the_cache(isolated_home: Path) -> None:
    path = compiled_schema_path()
    assert path.parent == isolated_home / "cache"
    assert passes_task_schema(FULL)
    assert path.is_file()
    schema._compiled_check.cache_clear()
    path.write_text("def validate(data):\n    return data\n")  # loads, but not what was generated
    assert not passes_task_schema({"prompt": ""})  # regenerated: refuses as before


def test_a_damaged_cache_file_is_generated_again(isolated_home: Path) -> None:
    path = compiled_schema_path()
    path.parent.mkdir(parents=True)
    path.write_text("this is not ( python")
    assert passes_task_schema(FULL) and not passes_task_schema({"prompt": ""})
    assert "this is not" not in path.read_text()


def test_an_unwritable_cache_still_checks(isolated_home: Path) -> None:
    isolated_home.mkdir(exist_ok=True)
    (isolated_home / "cache").write_text("a file where the folder should be")
    assert passes_task_schema(FULL) and not passes_task_schema({"prompt": ""})


def test_listing_valid_files_does_not_import_jsonschema(isolated_home: Path) -> None:
    """jsonschema's import alone is ~60 ms of a cold `schedule list`: only a refused file needs it."""
    tasks = isolated_home / "tasks"
    tasks.mkdir(parents=True)
    plain = {key: value for key, value in FULL.items() if key != "output_schema"}  # its check needs jsonschema
    for number in range(3):
        (tasks / f"t{number}.yaml").write_text(yaml.safe_dump({**plain, "id": f"t{number}"}))
    (tasks / "d.yaml").write_text(yaml.safe_dump({"name": "d", "prompt": "p", "due": datetime.date(2027, 1, 1)}))
    probe = (
        "import sys\n"
        "from bassi_ci.tasks.store import TaskStore\n"
        "entries = TaskStore().entries()\n"
        "print([e.error is None for e in entries], 'jsonschema' in sys.modules)\n"
    )

    def listed() -> list[str]:
        return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()

    assert listed() == ["[False,", "True,", "True,", "True]", "True"]  # d.yaml: jsonschema names 'due'
    (tasks / "d.yaml").unlink()
    for cache in (isolated_home / "cache").glob("tasks-*.json"):
        cache.unlink()  # cold again: every file is checked, none is refused
    assert listed() == ["[True,", "True,", "True]", "False"]
