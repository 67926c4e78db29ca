"""`limits.timeout` in task.schema.json is one schema with per-type keywords instead of a oneOf of
two (two fewer jsonschema descents per task file). It must accept exactly what the oneOf did."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from bassi_ci.tasks.schema import task_schema

# The previous definition, kept here as the reference.
ONE_OF = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": 604800},
        {"type": "string", "pattern": "^[1-9][0-9]{0,5}(s|m|h)$"},
    ]
}
reference = Draft202012Validator(ONE_OF)
current = Draft202012Validator(task_schema()["properties"]["limits"]["properties"]["timeout"])

EDGES: list[Any] = [
    *(0, 1, 2, 604799, 604800, 604801, -1, 10**20),
    *(1.0, 1.5, 0.0, 604800.0, 604800.5, float("inf"), float("nan")),
    *(True, False, None, [], {}, [1], {"s": 1}),
    *("1s", "30m", "2h", "999999h", "1000000h", "0s", "01m", "1d", "1", "", " 1s", "1s\n", "1S", "1m "),
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**7) | st.floats() | st.text("0123456789smhd \n", max_size=9),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner, max_size=2),
    max_leaves=4,
)


def test_the_edges_are_judged_alike() -> None:
    for value in EDGES:
        assert current.is_valid(value) == reference.is_valid(value), value
    # "1s\n": jsonschema's `pattern` is re.search, whose `$` also matches before a final newline.
    accepted = [1, 2, 604799, 604800, 1.0, 604800.0, "1s", "30m", "2h", "999999h", "1s\n"]
    assert [value for value in EDGES if current.is_valid(value)] == accepted


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_any_value_is_judged_alike(value: Any) -> None:
    assert current.is_valid(value) == reference.is_valid(value)
