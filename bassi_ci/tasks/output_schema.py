"""The JSON Schema of a run's structured output: where it comes from and whether bassi accepts it.

A task's `output_schema` is an inline JSON Schema object or the path of a JSON file relative
to the task file; `bassi execute --output-schema FILE` (relative to the current directory)
replaces it. Inline schemas are checked when the task file is loaded; a path is read and
checked when the run starts. Either way a bad schema is an OutputSchemaError (usage error,
exit 2) before any API call.

Accepted: a valid draft 2020-12 schema (jsonschema's own meta-schema check), whose root says
`type: object` (the model gives it as a tool's input, which the API wants to be an object),
at most MAX_OUTPUT_SCHEMA_BYTES of JSON, and with only local `$ref`s (`#…`) that resolve: bassi
fetches nothing from the network to validate an answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bassi_ci.errors import UsageError

# Large enough for any real answer's shape; small enough that the schema (sent with every API
# call as the tool's input schema) cannot eat a noticeable part of the context or the budget.
MAX_OUTPUT_SCHEMA_BYTES = 64 * 1024
# A file may be indented generously; what counts is the schema's compact JSON above.
MAX_OUTPUT_SCHEMA_FILE_BYTES = 4 * MAX_OUTPUT_SCHEMA_BYTES


class OutputSchemaError(UsageError):
    """An output schema that cannot be read, is not a valid draft 2020-12 schema, or is not an object's."""


def check_output_schema(schema: object) -> dict[str, Any]:
    """`schema` as plain JSON when bassi accepts it (see the module docstring); OutputSchemaError
    saying why not."""
    try:
        # A YAML task file can hold what JSON cannot (a date, a number key): what is checked here
        # is exactly what the API will be sent.
        text = json.dumps(schema, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as problem:
        raise OutputSchemaError(
            f"the output schema holds a value JSON cannot express ({problem}); quote dates and times"
        ) from None
    if len(text.encode()) > MAX_OUTPUT_SCHEMA_BYTES:
        raise OutputSchemaError(
            f"the output schema is {len(text.encode()):,} bytes of JSON; "
            f"at most {MAX_OUTPUT_SCHEMA_BYTES // 1024} KiB is allowed"
        )
    plain = json.loads(text)
    if not isinstance(plain, dict):
        raise OutputSchemaError(f"the output schema must be a JSON object, got {_json_kind(plain)}")
    # Lazy: loading a task file (`schedule list`) needs jsonschema only for tasks with a schema; ~55 ms.
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(plain)
    except SchemaError as problem:
        where = _pointer(problem.absolute_path)
        raise OutputSchemaError(f"not a valid JSON Schema (draft 2020-12) at {where}: {problem.message}") from None
    if plain.get("type") != "object":
        raise OutputSchemaError(
            f'the output schema\'s root must be "type": "object" (got {json.dumps(plain.get("type"))}); '
            "put any other value in a property of an object"
        )
    remote = next(_remote_refs(plain), None)
    if remote is not None:
        raise OutputSchemaError(f"$ref {remote!r}: only references inside the schema (#/$defs/...) are allowed")
    dangling = _dangling_ref(plain)
    if dangling is not None:
        raise OutputSchemaError(f"$ref {dangling!r} points to nothing in the schema")
    return plain


def load_output_schema_file(path: Path) -> dict[str, Any]:
    """The schema in the JSON file `path`, checked."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_OUTPUT_SCHEMA_FILE_BYTES + 1)
    except OSError as problem:
        raise OutputSchemaError(f"{path}: cannot read the output schema ({problem.strerror or problem})") from None
    if len(data) > MAX_OUTPUT_SCHEMA_FILE_BYTES:
        limit = MAX_OUTPUT_SCHEMA_FILE_BYTES // 1024
        raise OutputSchemaError(f"{path}: the output schema file is larger than {limit} KiB")
    try:
        schema = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as problem:
        reason = str(problem).splitlines()[0] if str(problem) else type(problem).__name__
        raise OutputSchemaError(f"{path}: the output schema is not valid JSON ({reason})") from None
    try:
        return check_output_schema(schema)
    except OutputSchemaError as problem:
        raise OutputSchemaError(f"{path}: {problem}") from None


def task_output_schema(value: dict[str, Any] | str | None, task_file: Path | None) -> dict[str, Any] | None:
    """The schema a task's `output_schema` names: inline, or a file relative to the task file."""
    if value is None:
        return None
    if isinstance(value, dict):
        return check_output_schema(value)
    given = Path(value).expanduser()
    if not given.is_absolute():
        if task_file is None:
            raise OutputSchemaError(f"output_schema {value!r}: a relative path needs a task file to be relative to")
        given = task_file.parent / given
    return load_output_schema_file(given)


def _remote_refs(node: object) -> Iterator[str]:
    """Every `$ref` (or `$dynamicRef`) text that does not point inside the document (iteratively)."""
    stack = [node]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("$ref", "$dynamicRef") and isinstance(item, str) and not item.startswith("#"):
                    yield item
                stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)


def _dangling_ref(schema: dict[str, Any]) -> str | None:
    """The first `$ref` that cannot be resolved inside the schema: caught here, it is a usage error
    before the run instead of a validation that fails whatever the model answers.

    Skipped for a schema with `$id`s below its root (each starts a new base for the references
    under it); jsonschema still resolves those when it validates.
    """
    refs: list[str] = []
    nested_id = False
    stack: list[tuple[object, bool]] = [(schema, True)]
    while stack:
        node, root = stack.pop()
        if isinstance(node, dict):
            nested_id = nested_id or (not root and isinstance(node.get("$id"), str))
            ref = node.get("$ref")
            if isinstance(ref, str):
                refs.append(ref)
            stack.extend((item, False) for item in node.values())
        elif isinstance(node, list):
            stack.extend((item, False) for item in node)
    if not refs or nested_id:
        return None
    # Lazy, as in check_output_schema (referencing comes with jsonschema).
    from referencing import Registry
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    given = schema.get("$id")
    base = given if isinstance(given, str) else ""
    resolver = Registry().with_resource(base, DRAFT202012.create_resource(schema)).crawl().resolver(base)
    for ref in refs:
        try:
            resolver.lookup(ref)
        except Unresolvable:
            return ref
    return None


def _pointer(path: Any) -> str:
    parts = [str(part) for part in path]
    return "/" + "/".join(parts) if parts else "the root"


def _json_kind(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
