"""The `structured_output` tool: how a run with an output schema hands over its final answer.

The model is offered one more tool whose input schema is the task's output schema, and the
system prompt tells it to call it once with its final answer. bassi validates every call with
jsonschema itself — neither the model nor the API is trusted to have done so:

- a valid call is recorded, and the run ends once the tool calls of that reply have run (no
  further API call: the answer is given, and another turn would only cost money and could
  change files after the answer was given);
- the first invalid call goes back to the model as a tool error naming the worst problem
  (jsonschema's best_match: where, and what is wrong), so it can correct itself;
- a second invalid call ends the run: `failed`, exit 1, error.type `invalid_output`;
- a run that ends its turn without a valid call gets one reminder (a user message); ending
  again without one is `invalid_output` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from bassi_ci.agent.tools import ToolResult
from bassi_ci.errors import RunFailed

STRUCTURED_OUTPUT = "structured_output"

SYSTEM_PROMPT = f"""\
This task has a structured result. When you are done, call the `{STRUCTURED_OUTPUT}` tool \
exactly once with your final answer as its input; it must match the tool's input schema. \
The run ends when that call is accepted."""

REMINDER = (
    f"You ended without calling the `{STRUCTURED_OUTPUT}` tool. Call it now, once, with your final answer "
    "as its input (it must match the tool's input schema); the run fails without it."
)


class InvalidOutput(RunFailed):
    """The run ended without a structured output that matches the task's schema (exit 1)."""

    @property
    def type_name(self) -> str:
        return "invalid_output"


def tool_definition(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": STRUCTURED_OUTPUT,
        "description": (
            "Give the final answer of this task, once, when the work is done. The input must match "
            "the schema exactly; an invalid one is returned with what is wrong."
        ),
        "input_schema": schema,
    }


@dataclass
class StructuredOutput:
    """The structured output of one run: the calls so far and the value once a valid one came."""

    schema: dict[str, Any]
    value: dict[str, Any] | None = None
    invalid_calls: int = 0
    reminded: bool = False
    validator: Draft202012Validator = field(init=False)

    def __post_init__(self) -> None:
        self.validator = Draft202012Validator(self.schema)

    @property
    def done(self) -> bool:
        return self.value is not None

    def call(self, tool_input: object) -> ToolResult:
        """Judge one call: record a valid value, return the first invalid one as a tool error,
        raise InvalidOutput for the second."""
        if self.value is not None:
            return ToolResult(f"{STRUCTURED_OUTPUT} was already given; the first valid answer is kept.", True)
        problem = self._problem(tool_input)
        if problem is None:
            assert isinstance(tool_input, dict)
            self.value = tool_input
            return ToolResult("Accepted. The run ends here.")
        self.invalid_calls += 1
        if self.invalid_calls > 1:
            raise InvalidOutput(f"the {STRUCTURED_OUTPUT} call was invalid twice; the second time: {problem}")
        return ToolResult(f"Invalid {STRUCTURED_OUTPUT}: {problem}. Fix it and call {STRUCTURED_OUTPUT} again.", True)

    def reminder(self) -> str:
        """The one reminder for a run that ended its turn without a valid call; the second time
        it raises InvalidOutput."""
        if self.reminded:
            raise InvalidOutput(f"the run ended without a valid {STRUCTURED_OUTPUT} call, even after a reminder")
        self.reminded = True
        return REMINDER

    def _problem(self, tool_input: object) -> str | None:
        error = best_match(self.validator.iter_errors(tool_input))
        if error is None:
            return None
        where = "/" + "/".join(str(part) for part in error.absolute_path) if error.absolute_path else "the root"
        return f"at {where}: {_short(error.message)}"


def _short(message: str, limit: int = 300) -> str:
    """jsonschema quotes the offending value whole; a long one is cut so the error stays readable."""
    return message if len(message) <= limit else message[: limit - 3] + "..."
