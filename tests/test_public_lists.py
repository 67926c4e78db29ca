"""Public lists written in more than one place must agree (issue #13, part 5).

Exit codes: `bassi_ci.errors.ExitCode` (code -> status word) is the source; the
`bassi execute --help` text, the module docstring of bassi_ci/agent/loop.py, README's
"### Exit codes" table, action.yml's `status` and `exit-code` outputs and
bassi_ci/schemas/result.schema.json each write it again by hand.

Result fields: result.schema.json's properties, the JSON document `bassi execute --ci`
really prints (on success and on a usage error), and the field list in README's
"### The JSON result" section.

Every place is parsed from its public form (help text, file text), never from the
modules that build it, so the tests hold while code moves between modules. A place that
lists only some codes must list no wrong pair; why it is a subset is said where it is read.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bassi_ci.errors import ExitCode
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ACTION = ROOT / "action.yml"
LOOP = ROOT / "bassi_ci" / "agent" / "loop.py"
RESULT_SCHEMA = ROOT / "bassi_ci" / "schemas" / "result.schema.json"

Pairs = dict[int, str]
# Statuses that share an exit code with another: `idle` is `execute --next` on an empty queue (exit 0,
# nothing ran). Only the result schema and README's note under the exit-code table list them; the
# action never runs --next, so its `status` output lists the exit codes' statuses alone.
SHARED_CODE_STATUSES = {"idle": 0}


def exit_codes() -> Pairs:
    """The source of truth: code -> status word, in code order."""
    return {int(code): code.status for code in sorted(ExitCode)}


def _status_word(words: str) -> str:
    """'usage error' / 'API error' / 'limit_reached' -> the status word ('usage_error', ...)."""
    return "_".join(words.lower().split())


def _wrong_pairs(listed: Pairs) -> Pairs:
    truth = exit_codes()
    return {code: status for code, status in listed.items() if truth.get(code) != status}


# --------------------------------------------------------------------------- each place, parsed


def help_exit_codes() -> Pairs:
    """`bassi execute --help`: 'Exit codes: 0 success, 1 failed, 2 usage error, … 130 interrupted.'"""
    code, out, err = run_cli("execute", "--help")
    assert code == 0, err
    text = " ".join(out.split())  # undo click's line wrapping
    match = re.search(r"Exit codes: (.*?)\.(?: |$)", text)
    assert match, f"no 'Exit codes: …' sentence in bassi execute --help:\n{out}"
    pairs: Pairs = {}
    for item in match.group(1).split(","):
        entry = re.fullmatch(r"\s*(\d+) ([A-Za-z_ ]+?)\s*", item)
        assert entry, f"cannot read {item!r} in the help's exit codes"
        pairs[int(entry.group(1))] = _status_word(entry.group(2))
    return pairs


def loop_docstring_exit_codes() -> Pairs:
    """loop.py's module docstring: bullets such as '- 0 success: …' and '- 6 api_error / 7 auth_error: …'."""
    docstring = ast.get_docstring(ast.parse(LOOP.read_text(encoding="utf-8")))
    assert docstring
    pairs: Pairs = {}
    for line in docstring.splitlines():
        if not line.startswith("- "):
            continue
        head = line[2:].split(":", 1)[0]  # only before the colon: the explanation has numbers too
        found = re.findall(r"(\d+) ([a-z_]+)", head)
        assert found, f"a bullet of loop.py's docstring names no exit code: {line!r}"
        pairs.update({int(code): status for code, status in found})
    return pairs


def readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(title)}\n(.*?)(?=^#)", text, re.S | re.M)
    assert match, f"README.md has no section {title!r}"
    return match.group(1)


def readme_exit_codes() -> Pairs:
    """README's "### Exit codes" table: | code | `status` | meaning |."""
    rows = [line for line in readme_section("### Exit codes").splitlines() if line.startswith("|")]
    assert rows[:2] == ["| code | status | meaning |", "| --- | --- | --- |"], rows[:2]
    pairs: Pairs = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert re.fullmatch(r"\d+", cells[0]) and re.fullmatch(r"`[a-z_]+`", cells[1]), f"odd row: {row}"
        assert int(cells[0]) not in pairs, f"code {cells[0]} twice in README's table"
        pairs[int(cells[0])] = cells[1].strip("`")
    return pairs


def action_outputs() -> dict[str, Any]:
    outputs: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))["outputs"]
    return outputs


def action_statuses() -> list[str]:
    """action.yml's `status` output: 'Run status (success, failed, …, interrupted).'"""
    description = action_outputs()["status"]["description"]
    match = re.search(r"\(([^)]*)\)", description)
    assert match, description
    return [word.strip() for word in match.group(1).split(",")]


def action_exit_codes() -> Pairs:
    """action.yml's `exit-code` output: 'Exit code of the run (0 success, 1 failed, …).'"""
    description = action_outputs()["exit-code"]["description"]
    return {int(code): status for code, status in re.findall(r"\b(\d+) ([a-z_]+)", description)}


def schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(RESULT_SCHEMA.read_text(encoding="utf-8"))
    return document


# --------------------------------------------------------------------------- exit codes


def test_exit_code_source_is_sane() -> None:
    codes = exit_codes()
    assert len(set(codes.values())) == len(codes), "two codes share a status word"
    assert codes[0] == "success"


def test_execute_help_lists_every_exit_code() -> None:
    assert help_exit_codes() == exit_codes()


def test_loop_docstring_lists_no_wrong_exit_code() -> None:
    # A subset on purpose: the docstring lists what run_agent() returns; 8 locked is decided by
    # the executor before the loop starts.
    listed = loop_docstring_exit_codes()
    assert listed, "no exit codes found in loop.py's docstring"
    assert _wrong_pairs(listed) == {}
    assert set(listed) <= set(exit_codes())


def test_readme_exit_code_table_lists_every_exit_code() -> None:
    table = readme_exit_codes()
    assert table == exit_codes()
    assert list(table) == sorted(table), "README's table is not in code order"


def test_action_status_output_lists_every_status() -> None:
    assert action_statuses() == list(exit_codes().values())


def test_action_exit_code_output_lists_every_exit_code() -> None:
    assert action_exit_codes() == exit_codes()


def test_result_schema_allows_exactly_the_exit_codes_and_statuses() -> None:
    properties = schema()["properties"]
    assert sorted(properties["exit_code"]["enum"]) == list(exit_codes())
    assert sorted(properties["status"]["enum"]) == sorted([*exit_codes().values(), *SHARED_CODE_STATUSES])


def test_readme_names_the_statuses_that_share_an_exit_code() -> None:
    section = readme_section("### Exit codes")
    for status, code in SHARED_CODE_STATUSES.items():
        found = re.search(rf"status `{status}`, exit {code}\b", section)
        assert found, f"README does not say `{status}` is exit {code}"


def test_result_schema_ties_exit_code_0_to_success() -> None:
    # Success has its own if/then (no error object); the others are paired by the oneOf below.
    rule = schema()["allOf"][0]
    assert rule["if"]["properties"]["exit_code"]["const"] == 0
    zero = [exit_codes()[0], *(status for status, code in SHARED_CODE_STATUSES.items() if code == 0)]
    assert rule["then"]["properties"]["status"]["enum"] == zero


# --------------------------------------------------------------------------- result fields

TINY_RECORDING = {
    "format": "bassi-recording",
    "version": 1,
    "messages": [
        {
            "id": "msg_golden01",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-5-5",
            "content": [{"type": "text", "text": "Hello."}],
            "stop_reason": "end_turn",
            "usage": {
                "input_tokens": 5,
                "output_tokens": 2,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }
    ],
}


def _results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """The JSON `bassi execute --ci` prints: a replayed successful run, and a usage error."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    recording = tmp_path / "replay.json"
    recording.write_text(json.dumps(TINY_RECORDING), encoding="utf-8")
    monkeypatch.chdir(workspace)
    results = {}
    for name, args, want in (
        ("success", ("--prompt", "hi", "--replay", str(recording)), ExitCode.SUCCESS),
        ("usage_error", ("--prompt", "hi", "--no-such-option"), ExitCode.USAGE_ERROR),
    ):
        code, out, err = run_cli("execute", "--ci", *args)
        assert code == want, f"{name}: exit {code}\n{out}\n{err}"
        document: dict[str, Any] = json.loads(out)
        assert (document["exit_code"], document["status"]) == (int(want), want.status)
        results[name] = document
    return results


def readme_result_fields() -> dict[str, list[str]]:
    """README's "Fields: `a, b, usage{x, y}, …`" -> {"": top-level fields, "usage": [x, y], …}."""
    section = readme_section("### The JSON result")
    match = re.search(r"Fields: `([^`]*)`", section)
    assert match, section
    text = " ".join(match.group(1).split())
    fields: dict[str, list[str]] = {"": []}
    for item in re.finditer(r"([a-z_]+)(?:\{([^}]*)\})?(?:, |$)", text):
        name, inner = item.group(1), item.group(2)
        fields[""].append(name)
        if inner is not None:
            fields[name] = [part.strip() for part in inner.split(",")]
    rebuilt = ", ".join(name + (f"{{{', '.join(fields[name])}}}" if name in fields else "") for name in fields[""])
    assert rebuilt == text, f"README's field list was not read whole:\n{text}\n{rebuilt}"
    return fields


def schema_objects() -> dict[str, dict[str, Any]]:
    """The result object and its nested objects: "" (top level), "usage", "error"."""
    top = schema()
    (error_object,) = [option for option in top["properties"]["error"]["oneOf"] if option.get("type") == "object"]
    return {"": top, "usage": top["properties"]["usage"], "error": error_object}


def test_printed_result_has_exactly_the_schema_fields_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = schema_objects()
    for name, document in _results(tmp_path, monkeypatch).items():
        assert list(document) == list(objects[""]["properties"]), name
        assert list(document["usage"]) == list(objects["usage"]["properties"]), name
        if document["error"] is not None:
            assert list(document["error"]) == list(objects["error"]["properties"]), name


def test_readme_names_exactly_the_schema_fields_in_order() -> None:
    readme = readme_result_fields()
    objects = schema_objects()
    assert set(readme) == set(objects), "README and the schema have different nested objects"
    for name, schema_object in objects.items():
        assert readme[name] == list(schema_object["properties"]), name or "top level"


def test_schema_requires_every_field_and_allows_no_other() -> None:
    # The result is one fixed document: every field is always present (null or empty when it has
    # no value), so each object requires all of its properties and forbids any other.
    for name, schema_object in schema_objects().items():
        assert schema_object["required"] == list(schema_object["properties"]), name or "top level"
        assert schema_object["additionalProperties"] is False, name or "top level"


def test_result_schema_ties_each_exit_code_to_its_status() -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema())
    ok = run_cli("execute", "--ci", "--bogus")[1]
    document = json.loads(ok)
    assert validator.is_valid(document)
    for code in ExitCode:
        for other in ExitCode:
            if ExitCode.SUCCESS in (code, other):
                continue  # success has its own if/then, tested above
            candidate = {**document, "exit_code": int(code), "status": other.status}
            assert validator.is_valid(candidate) == (code is other), (code, other)
