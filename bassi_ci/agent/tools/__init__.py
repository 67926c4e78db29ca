"""The tools the agent may call, and the definitions bassi sends to the API for them.

`bash` and `str_replace_based_edit_tool` are Anthropic-defined client tools: the API knows
their input schemas, bassi only names the tool type. `ask_user` is a custom tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BASH = "bash"
EDITOR = "str_replace_based_edit_tool"
ASK_USER = "ask_user"

BASH_TOOL_TYPE = "bash_20250124"
EDITOR_TOOL_TYPE = "text_editor_20250728"

ASK_USER_DEFINITION: dict[str, Any] = {
    "name": ASK_USER,
    "description": (
        "Ask the person who started this task a question and wait for the answer. "
        "Use it only when you cannot continue without information only they have. "
        "In unattended runs nobody can answer: the run stops and reports the question."
    ),
    "input_schema": {
        "type": "object",
        "properties": {"question": {"type": "string", "description": "The question, self-contained."}},
        "required": ["question"],
    },
}


@dataclass(frozen=True)
class ToolResult:
    """What a tool call returns to the model: `output` as text, or, when `blocks` is set (an MCP
    tool's text and image content blocks), those blocks, with `output` their text for the logs."""

    output: str
    is_error: bool = False
    blocks: tuple[dict[str, Any], ...] = ()


def tool_definitions(allowed: tuple[str, ...]) -> list[dict[str, Any]]:
    """The `tools` parameter for the allowed tools, in a stable order (it is part of the cache key)."""
    definitions: list[dict[str, Any]] = []
    if BASH in allowed:
        definitions.append({"type": BASH_TOOL_TYPE, "name": BASH})
    if EDITOR in allowed:
        definitions.append({"type": EDITOR_TOOL_TYPE, "name": EDITOR})
    if ASK_USER in allowed:
        definitions.append(dict(ASK_USER_DEFINITION))
    return definitions


def cut_output(text: str, limit: int) -> str:
    """`text`, or its head and tail with a note saying how many characters were cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    head = text[: limit // 2]
    tail = text[len(text) - (limit - len(head)) :]
    return f"{head}\n\n[... {cut} characters cut; the output had {len(text)} characters ...]\n\n{tail}"
