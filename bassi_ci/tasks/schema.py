"""task.schema.json, and a fast yes/no check of a record against it.

Listing 1,000 uncached task files spent most of its time in jsonschema: ~60 ms to import
it and ~100 ms to walk its validators over every record. fastjsonschema compiles the same
schema into plain Python once (validating 1,000 tasks then takes ~10 ms), and the generated
code is kept in BASSI_HOME/cache, so its ~45 ms of generating and compiling is paid once per
schema and fastjsonschema version, not at every start.

fastjsonschema only says yes or no here. A record it refuses goes to jsonschema, which stays
the judge of what is wrong (and words the error, loader.describe_schema_error); where the
two disagree (fastjsonschema reads `$` in a pattern as the end of the text, jsonschema also
before a final newline), jsonschema's word counts. So the fast path can only make a valid
file load sooner, never let an invalid one through: tests/tasks/test_schema_check.py checks
that whatever fastjsonschema accepts, jsonschema accepts too.

The cached file is run as code. That puts no new trust in BASSI_HOME: scheduled runs already
source its `env` file as shell (scheduling/envfile.py).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import importlib.util
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from bassi_ci.fsutil import atomic_write_text
from bassi_ci.home import bassi_home

# use_default=False: fastjsonschema would otherwise write the schema's defaults into the record.
# Formats: the task schema uses none, and jsonschema does not check them by default either.
_COMPILE_OPTIONS: dict[str, Any] = {"use_default": False, "use_formats": False}
# Exact types: a subclass (an IntEnum, a str subclass) is not what a parser of JSON or YAML makes.
_JSON_SCALARS = (str, int, float, bool, type(None))


@functools.cache
def task_schema() -> dict[str, Any]:
    source = resources.files("bassi_ci.schemas").joinpath("task.schema.json")
    schema: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return schema


def passes_task_schema(data: Any) -> bool:
    """True when `data` is certainly a valid task record; False means "ask jsonschema"."""
    if not _json_only(data):
        return False
    # Lazy like jsonschema before it: commands that never validate do not pay the import.
    from fastjsonschema import JsonSchemaValueException

    try:
        _compiled_check()(data)
    except JsonSchemaValueException:
        return False
    return True


def _json_only(data: Any) -> bool:
    """Whether `data` holds only what JSON can: fastjsonschema is written for that, and reads
    more into other types than jsonschema does (a tuple, from YAML's !!pairs, passes as an
    array). YAML's dates, binaries, sets, tuples and non-text keys go to jsonschema instead."""
    stack = [data]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict:
            if not all(type(key) is str for key in value):
                return False
            stack.extend(value.values())
        elif kind is list:
            stack.extend(value)
        elif kind not in _JSON_SCALARS:
            return False
    return True


@functools.cache
def _compiled_check() -> Callable[[Any], Any]:
    """The generated validator: from the cache file when it loads, else generated afresh."""
    path = compiled_schema_path()
    check = _load_generated(path) if path.is_file() else None
    if check is not None:
        return check
    code = _generate_code()
    with contextlib.suppress(OSError):  # a read-only BASSI_HOME: validate, just without the cache
        atomic_write_text(path, code, durable=False)  # an optimisation only, like the validation cache
    namespace: dict[str, Any] = {}
    exec(compile(code, str(path), "exec"), namespace)  # fastjsonschema's own output, just generated
    return _entry_point(namespace)


def compiled_schema_path() -> Path:
    """BASSI_HOME/cache/task-schema-<hash>.py: one file per schema, compile options and
    fastjsonschema version, so an upgrade of either never runs stale code."""
    from fastjsonschema import VERSION

    identity = json.dumps([task_schema(), _COMPILE_OPTIONS, VERSION], sort_keys=True).encode()
    return bassi_home() / "cache" / f"task-schema-{hashlib.sha256(identity).hexdigest()[:16]}.py"


def _generate_code() -> str:
    from fastjsonschema import compile_to_code

    code: str = compile_to_code(_private_copy(), **_COMPILE_OPTIONS)
    return code


def _load_generated(path: Path) -> Callable[[Any], Any] | None:
    """Import the cached module through Python's own loader, which also keeps its bytecode in
    cache/__pycache__ (loading that is a few ms; compiling the ~150 KB source is ~30 ms).
    None when the file does not load, e.g. damaged: the caller generates it again."""
    spec = importlib.util.spec_from_file_location(f"_bassi_{path.stem.replace('-', '_')}", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        return _entry_point(vars(module))
    except Exception:  # any damage to a cache file means "build it again", never a failed command
        return None


def _entry_point(namespace: dict[str, Any]) -> Callable[[Any], Any]:
    """The validator of the whole schema (the generated code has one more per $ref target),
    named as fastjsonschema.compile finds it: after the schema's $id."""
    from fastjsonschema.ref_resolver import RefResolver

    check: Callable[[Any], Any] = namespace[RefResolver.from_schema(_private_copy()).get_scope_name()]
    return check


def _private_copy() -> dict[str, Any]:
    """fastjsonschema rewrites the `$ref`s of the schema it is given into absolute URIs, in place;
    the shared task_schema() must stay as written (jsonschema resolves parts of it elsewhere)."""
    return copy.deepcopy(task_schema())
