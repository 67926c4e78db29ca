"""Read a task file (YAML or JSON), check it against task.schema.json, build a Task.

Every problem becomes one TaskFileError line naming the file, the field and what
was expected, so a user fixes it without reading a traceback.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from bassi_ci.errors import ScheduleError, TaskFileError
from bassi_ci.schedules import parse_schedule, validate_timezone
from bassi_ci.tasks.mcp_servers import McpServerSpec, servers_from_dict
from bassi_ci.tasks.model import MAX_TIMEOUT_S, Task, task_from_dict
from bassi_ci.tasks.output_schema import OutputSchemaError, check_output_schema
from bassi_ci.tasks.schema import passes_task_schema, task_schema

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

TASK_SUFFIXES = (".yaml", ".yml", ".json")
# A task is a prompt and some settings; anything larger is a mistake (or an attack).
MAX_TASK_FILE_BYTES = 256 * 1024
# The deepest valid task is three levels (commit.paths[...]); without a bound a deeply nested
# file overflows the stack of the parser (libyaml's composer crashes the process) or of the
# schema check. Every collection of a YAML or JSON document needs one of these characters.
MAX_NESTING = 32
_NESTING_CHARS = "[{-:?"

# libyaml's loader is several times faster; listing 1,000 tasks depends on it.
_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_task_file(path: Path) -> Task:
    """Load and validate one task file; raise TaskFileError on any problem."""
    try:
        raw = _read_bounded(path)
        if len(raw) > MAX_TASK_FILE_BYTES:
            raise TaskFileError(f"{path}: the task file is larger than {MAX_TASK_FILE_BYTES // 1024} KiB")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(f"{path}: cannot read the task file ({_reason(exc)})") from None
    return parse_task_text(text, path)


def _read_bounded(path: Path) -> bytes:
    """A regular file's bytes, at most one more than the size limit (parse_task_text refuses
    that). A task folder may come from a cloned repository: a symlink to /dev/zero or a FIFO
    must not exhaust memory or hang `schedule list` and the scheduler. O_NONBLOCK keeps
    opening a FIFO from waiting for a writer."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"not a regular file: {path}")
        return handle.read(MAX_TASK_FILE_BYTES + 1)


def parse_task_text(text: str, path: Path) -> Task:
    """Validate the text of a task file; `path` names it in errors and decides the format."""
    if len(text) > MAX_TASK_FILE_BYTES:
        raise TaskFileError(f"{path}: the task file is larger than {MAX_TASK_FILE_BYTES // 1024} KiB")
    data = _parse_document(text, path)
    validate_task_data(data, path)
    task = task_from_dict(data, source=path)
    check_task_semantics(task, path)
    return task


def validate_task_data(data: Any, path: Path) -> None:
    """Check a decoded record against the JSON Schema; one clear error for the worst problem."""
    if _deeper_than(data, MAX_NESTING):
        raise TaskFileError(_too_deep(path))
    if not isinstance(data, dict):
        found = "nothing" if data is None else f"a {_json_type(data)}"
        raise TaskFileError(f"{path}: expected a mapping of task fields at the top level, got {found}")
    for key in data:
        if not isinstance(key, str):
            raise TaskFileError(f"{path}: field names must be text, got {key!r}")
    if passes_task_schema(data):
        return
    # Only for a record the fast check refused: jsonschema judges it and says what is wrong.
    # Lazy: `schedule list` of valid files and `--help` never import it (~60 ms).
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(data))
    if error is not None:
        raise TaskFileError(f"{path}: {describe_schema_error(error, data)}")


def check_task_semantics(task: Task, path: Path) -> None:
    """What a schema cannot say: the schedule parses, the zone exists, limits are sane."""

    if task.limits.timeout_s > MAX_TIMEOUT_S:
        raise TaskFileError(
            f"{path}: field 'limits.timeout': expected at most 7 days ({MAX_TIMEOUT_S} s), "
            f"got {task.limits.timeout_s} s"
        )
    budget = task.limits.max_budget_usd
    if budget is not None and not math.isfinite(budget):
        raise TaskFileError(f"{path}: field 'limits.max_budget_usd': expected a finite number, got {budget}")

    if task.schedule is not None:
        if task.timezone is None:
            raise TaskFileError(f"{path}: field 'timezone': required with a schedule; add e.g. 'timezone: UTC'")
        try:
            parse_schedule(task.schedule)
        except ScheduleError as exc:
            raise TaskFileError(f"{path}: field 'schedule': {exc}") from None
    if task.timezone is not None:
        try:
            validate_timezone(task.timezone)
        except ScheduleError as exc:
            raise TaskFileError(f"{path}: field 'timezone': {exc}") from None
    if isinstance(task.output_schema, dict):  # a path is read when the run starts
        try:
            check_output_schema(task.output_schema)
        except OutputSchemaError as exc:
            raise TaskFileError(f"{path}: field 'output_schema': {exc}") from None


def load_mcp_config(path: Path) -> tuple[McpServerSpec, ...]:
    """The servers of a `.mcp.json` file (`{"mcpServers": {name: definition}}`, as Claude Code
    writes it), checked against the task schema's definition; TaskFileError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if len(text) <= MAX_TASK_FILE_BYTES else None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(f"{path}: cannot read the MCP configuration ({_reason(exc)})") from None
    except (ValueError, RecursionError) as exc:
        raise TaskFileError(f"{path}: not valid JSON ({_reason(exc)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers"), dict):
        raise TaskFileError(
            f'{path}: expected a JSON object with an "mcpServers" object, as in Claude Code\'s .mcp.json'
        )
    if _deeper_than(data, MAX_NESTING):
        raise TaskFileError(_too_deep(path))
    from jsonschema.exceptions import best_match  # lazy, as in validate_task_data

    error = best_match(_mcp_config_validator().iter_errors(data))
    if error is not None:
        raise TaskFileError(f"{path}: {describe_schema_error(error, data)}")
    return servers_from_dict(data["mcpServers"])


def describe_schema_error(error: ValidationError, data: dict[str, Any]) -> str:
    """Turn a jsonschema error into 'field X: expected Y, got Z'."""
    where = _field_path(error)
    kind = error.validator
    if kind == "additionalProperties":
        return _unknown_fields(error, where)
    if kind == "required":
        missing = str(error.message).split("'")[1]
        prefix = f"field '{where}': " if where else ""
        return f"{prefix}missing required field '{missing}'"
    if kind == "anyOf" and not where:
        return "needs an 'id' or a 'name' so the task can be referred to"
    got = _short(error.instance)
    # A webhook URL is a credential: never echoed whole.
    if where.startswith("notify[") and where.endswith(".url") and isinstance(error.instance, str):
        got = repr(error.instance.split("//")[0] + "//…")
    elif where.startswith("notify[") and isinstance(error.instance, dict) and "url" in error.instance:
        got = "the fields " + ", ".join(map(str, error.instance))
    expected = _expected(error)
    return f"field '{where}': expected {expected}, got {got}"


def _expected(error: ValidationError) -> str:
    kind, value = error.validator, cast(Any, error.validator_value)
    field = list(error.absolute_path)
    if field and field[-1] == "timeout":
        return "seconds (a whole number >= 1) or a duration such as '30m', '2h', '90s'"
    if kind == "type":
        return " or ".join(value) if isinstance(value, list) else str(value)
    if kind == "enum":
        return "one of " + ", ".join(str(v) for v in value)
    if kind == "minimum":
        return f"a number >= {value}"
    if kind == "maximum":
        return f"a number <= {value}"
    if kind == "exclusiveMinimum":
        return f"a number > {value}"
    if kind == "minLength":
        return "a non-empty text" if value == 1 else f"at least {value} characters"
    if kind == "maxLength":
        return f"at most {value} characters"
    if kind == "uniqueItems":
        return "no repeated entries"
    if kind == "minItems":
        return "at least one entry" if value == 1 else f"at least {value} entries"
    if kind == "maxItems":
        return f"at most {value} entries"
    if kind == "oneOf" and field and field[-1] == "when":
        return "one of " + ", ".join(task_schema()["$defs"]["notify_when"]["enum"]) + ", or a list of them"
    if kind == "pattern":
        return _pattern_hint(error)
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    return str(description or error.message)


def _pattern_hint(error: ValidationError) -> str:
    field = list(error.absolute_path)
    name = field[-1] if field else ""
    if name == "id":
        return "a slug of lower-case letters, digits and single hyphens (e.g. 'weekly-report')"
    if name == "name":
        return "a single line of text without control or text-direction characters"
    if name == "model":
        return "a model name such as 'claude-sonnet-4-5'"
    if (len(field) >= 2 and field[-2] == "vars") or name == "url_env":
        return "a variable name of letters, digits and underscores"
    if name in ("mcp_servers", "mcpServers"):
        return "a server name of lower-case letters, digits, hyphens and single inner underscores"
    if len(field) >= 2 and field[-2] == "tools":
        return "one of bash, str_replace_based_edit_tool, ask_user, mcp__<server>, mcp__<server>__<tool>"
    if name == "url" and field[:1] == ["notify"]:
        return "an http:// or https:// URL (without a user name or password in it)"
    if name == "url":
        return "an http:// or https:// address"
    return f"text matching {error.validator_value}"


def _unknown_fields(error: ValidationError, where: str) -> str:
    allowed = list(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
    extra = sorted(k for k in cast(dict[str, Any], error.instance) if k not in allowed)
    name = extra[0] if extra else "?"
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(allowed)}"
    scope = f" in '{where}'" if where else ""
    return f"unknown field '{name}'{scope}{hint}"


def _field_path(error: ValidationError) -> str:
    parts: list[str] = []
    for item in error.absolute_path:
        parts.append(f"[{item}]" if isinstance(item, int) else ("." if parts else "") + str(item))
    return "".join(parts)


def _parse_document(text: str, path: Path) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise TaskFileError(f"{path}: not valid JSON ({exc})") from None
        except RecursionError:  # the C decoder stops at the recursion limit, far deeper than MAX_NESTING
            raise TaskFileError(_too_deep(path)) from None
    try:
        _refuse_aliases_and_depth(text, path)
        return yaml.load(text, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        raise TaskFileError(f"{path}: not valid YAML ({_yaml_reason(exc)})") from None
    except (RecursionError, ValueError, OverflowError) as exc:
        raise TaskFileError(f"{path}: not valid YAML ({_reason(exc)})") from None


def _refuse_aliases_and_depth(text: str, path: Path) -> None:
    """Anchors and aliases can blow a few bytes up into gigabytes ("billion laughs"), and deep
    nesting overflows the stack of the composer; the event scan itself is iterative.

    The scan is skipped when neither can happen: an alias needs an anchor (&name) to point at,
    and each level of nesting needs one of _NESTING_CHARS.
    """
    if "&" not in text and sum(text.count(char) for char in _NESTING_CHARS) <= MAX_NESTING:
        return
    depth = 0
    for event in yaml.parse(text, Loader=_YamlLoader):
        if isinstance(event, yaml.AliasEvent):
            raise TaskFileError(
                f"{path}: YAML aliases (*{event.anchor}) are not allowed in task files; write the value out"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise TaskFileError(_too_deep(path))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether lists and mappings nest more than `limit` levels (iteratively: no recursion to overflow)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return False


def _too_deep(path: Path) -> str:
    return f"{path}: lists and mappings are nested more than {MAX_NESTING} levels deep; a task needs only a few"


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return str(problem)


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _json_type(value: Any) -> str:
    names = {dict: "mapping", list: "list", str: "text", bool: "boolean", int: "number"}
    return names.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@functools.cache
def _validator() -> Draft202012Validator:
    # Lazy: only files the fast check refused need it (see validate_task_data).
    from jsonschema import Draft202012Validator

    # task.schema.json says `limits.timeout` with per-type keywords rather than a oneOf of two
    # schemas: the same documents pass (tests/tasks/test_schema_timeout.py), with two fewer
    # jsonschema descents per file, ~8% of validating 1,000 files.
    return Draft202012Validator(task_schema())


@functools.cache
def _mcp_config_validator() -> Draft202012Validator:
    """A `.mcp.json` checked by the task schema's own `mcp_servers` rule (other keys are Claude Code's)."""
    from jsonschema import Draft202012Validator  # lazy, as in _validator

    schema = task_schema()
    return Draft202012Validator(
        {
            "type": "object",
            "properties": {"mcpServers": schema["properties"]["mcp_servers"]},
            "$defs": schema["$defs"],
        }
    )
