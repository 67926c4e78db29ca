"""The loader turns every broken task file into one line naming file, field and expectation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bassi_ci.errors import ExitCode, TaskFileError
from bassi_ci.tasks.loader import load_task_file, parse_task_text
from bassi_ci.tasks.model import Limits

GOOD = """\
name: Weekly report
prompt: Summarise reports/metrics.csv into reports/weekly-{date}.md
schedule: monday 09:00
timezone: Europe/Berlin
limits: {timeout: 30m, max_turns: 12, max_budget_usd: 0.5}
tools: [bash, str_replace_based_edit_tool]
vars: {team: platform, year: 2027}
"""


def write(tmp_path: Path, text: str, name: str = "task.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_yaml_task_loads_with_derived_id(tmp_path: Path) -> None:
    task = load_task_file(write(tmp_path, GOOD))
    assert task.id == "weekly-report"
    assert task.limits == Limits(timeout_s=1800, max_turns=12, max_budget_usd=0.5)
    assert task.tools == ("bash", "str_replace_based_edit_tool")
    assert task.vars == {"team": "platform", "year": "2027"}


def test_json_task_loads(tmp_path: Path) -> None:
    data = {"id": "nightly", "prompt": "triage", "schedule": "daily 02:00", "timezone": "UTC"}
    task = load_task_file(write(tmp_path, json.dumps(data), "nightly.json"))
    assert (task.id, task.schedule, task.name) == ("nightly", "daily 02:00", "nightly")


def test_round_trip_through_to_dict(tmp_path: Path) -> None:
    import yaml

    task = load_task_file(write(tmp_path, GOOD))
    again = load_task_file(write(tmp_path, yaml.safe_dump(task.to_dict()), "again.yaml"))
    assert again == task


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("prompt: x\nname: a\npromt: y\n", "unknown field 'promt' (did you mean 'prompt'?)"),
        ("name: a\n", "missing required field 'prompt'"),
        ("prompt: x\n", "needs an 'id' or a 'name'"),
        ("name: a\nprompt: x\nlimits: {max_turns: 0}\n", "field 'limits.max_turns': expected a number >= 1, got 0"),
        ("name: a\nprompt: x\nlimits: {max_turns: ten}\n", "field 'limits.max_turns': expected integer, got 'ten'"),
        ("name: a\nprompt: x\nlimits: {timeout: 5 minutes}\n", "field 'limits.timeout': expected seconds"),
        ("name: a\nprompt: x\nlimits: {tmeout: 5}\n", "unknown field 'tmeout' in 'limits' (did you mean 'timeout'?)"),
        ("id: My Task\nprompt: x\n", "field 'id': expected a slug"),
        ("id: ../../etc\nprompt: x\n", "field 'id': expected a slug"),
        ("id: 'a;rm -rf'\nprompt: x\n", "field 'id': expected a slug"),
        ("name: a\nprompt: x\ntools: [python]\n", "field 'tools[0]': expected one of bash"),
        ("name: a\nprompt: ''\n", "field 'prompt': expected a non-empty text"),
        ("name: a\nprompt: x\nschedule: monday 25:00\ntimezone: UTC\n", "field 'schedule':"),
        ("name: a\nprompt: x\nschedule: daily 09:00\n", "field 'timezone': required with a schedule"),
        ("name: a\nprompt: x\nschedule: daily 09:00\ntimezone: Mars/Base\n", "field 'timezone':"),
        ("- a\n- b\n", "expected a mapping of task fields at the top level, got a list"),
        ("", "got nothing"),
        ("name: [unclosed\n", "not valid YAML (line"),
        ("name: a\nprompt: x\nvars: {'bad-name': 1}\n", "field 'vars':"),
    ],
)
def test_bad_task_files_name_the_field(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(TaskFileError) as caught:
        load_task_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message
    assert caught.value.exit_code == ExitCode.USAGE_ERROR


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "{not json", "t.json")
    with pytest.raises(TaskFileError, match=r"t\.json: not valid JSON"):
        load_task_file(path)


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(TaskFileError, match="cannot read the task file"):
        load_task_file(path)
    binary = write(tmp_path, "", "bin.yaml")
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(TaskFileError, match="cannot read the task file"):
        load_task_file(binary)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_task_or_a_task_file_error(text: str) -> None:
    try:
        parse_task_text(text, Path("fuzz.yaml"))
    except TaskFileError as exc:
        assert str(exc).startswith("fuzz.yaml: ")


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)
field_names = st.sampled_from(
    [
        "id",
        "name",
        "prompt",
        "schedule",
        "timezone",
        "enabled",
        "model",
        "limits",
        "tools",
        "workdir",
        "retries",
        "vars",
        "description",
        "other",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(field_names, yaml_values, max_size=8))
def test_any_record_is_a_task_or_a_task_file_error(record: dict[str, object]) -> None:
    try:
        parse_task_text(json.dumps(record), Path("fuzz.json"))
    except TaskFileError as exc:
        assert str(exc).startswith("fuzz.json: ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: a\nprompt: x\nlimits: {timeout: 999999h}\n", "expected at most 7 days"),
        ("name: a\nprompt: x\nlimits: {timeout: 169h}\n", "expected at most 7 days"),
        ("name: a\nprompt: x\nlimits: {max_budget_usd: .nan}\n", "field 'limits.max_budget_usd'"),
        ("name: a\nprompt: x\nlimits: {max_budget_usd: .inf}\n", "field 'limits.max_budget_usd'"),
        ('name: "a\\x85b"\nprompt: x\n', "field 'name': expected a single line"),
        ("name: a\nprompt: x\nschedule: daily 09:00\ntimezone: localtime\n", "not an IANA zone name"),
        ("name: a\nprompt: x\nschedule: daily 09:00\ntimezone: right/Europe/Berlin\n", "not an IANA zone name"),
    ],
)
def test_limits_and_names_that_would_not_round_trip_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(TaskFileError, match=expected):
        load_task_file(write(tmp_path, text))


def test_yaml_aliases_are_refused_before_they_can_expand(tmp_path: Path) -> None:
    levels = ['a0: &a0 ["lol", "lol"]'] + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path = write(tmp_path, "\n".join(levels) + "\nprompt: x\nname: n\n")
    with pytest.raises(TaskFileError, match=r"YAML aliases \(\*a0\) are not allowed"):
        load_task_file(path)


def test_oversized_task_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "name: a\nprompt: " + "x" * 300_000 + "\n")
    with pytest.raises(TaskFileError, match="larger than 256 KiB"):
        load_task_file(path)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_nesting_is_bounded_at_32_levels(tmp_path: Path, suffix: str) -> None:
    def nested(levels: int) -> str:  # the top-level mapping is the first level
        return '{"name": "n", "prompt": "p", "vars": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"

    with pytest.raises(TaskFileError, match="field 'vars': expected object"):
        load_task_file(write(tmp_path, nested(32), "ok" + suffix))
    with pytest.raises(TaskFileError, match="nested more than 32 levels deep") as caught:
        load_task_file(write(tmp_path, nested(33), "deep" + suffix))
    assert caught.value.exit_code == ExitCode.USAGE_ERROR


@pytest.mark.parametrize(
    "text",
    [
        "name: n\nprompt: p\nvars:\n" + "".join(" " * i + "-\n" for i in range(1, 40)),
        "name: n\nprompt: p\nvars:\n  " + "- " * 40 + "x\n",
        "name: n\nprompt: p\nvars:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 40)),
        "name: n\nprompt: p\nvars: " + "{a: " * 40 + "}" * 40 + "\n",
    ],
)
def test_deep_yaml_in_any_style_is_refused_before_it_is_composed(tmp_path: Path, text: str) -> None:
    with pytest.raises(TaskFileError, match="nested more than 32 levels deep"):
        load_task_file(write(tmp_path, text))


def test_a_prompt_full_of_colons_and_dashes_still_loads(tmp_path: Path) -> None:
    prompt = "- step: do this; then - that: " * 100
    task = load_task_file(write(tmp_path, f"name: n\nprompt: '{prompt}'\n"))
    assert task.prompt == prompt


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder"])
def test_a_task_file_that_is_no_regular_file_is_refused_quickly(tmp_path: Path, kind: str) -> None:
    """A cloned repository's .bassi/tasks may hold a link to /dev/zero or a FIFO: neither may
    exhaust memory or hang `schedule list` and the scheduler."""
    path = tmp_path / "x.yaml"
    if kind == "dev-zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    with pytest.raises(TaskFileError, match="cannot read the task file"):
        load_task_file(path)


def test_a_huge_task_file_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("prompt: " + "é" * 200_000, encoding="utf-8")  # 400 KB in 200,000 characters
    with pytest.raises(TaskFileError, match="larger than 256 KiB"):
        load_task_file(path)
