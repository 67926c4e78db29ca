"""The console view: readable tool lines, whole-line redaction, questions on a terminal."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.errors import NeedsInput
from bassi_ci.runs.ci import CiEnvironment, Folder
from bassi_ci.runs.observers import ConsoleObserver, TranscriptObserver, describe_tool_call
from bassi_ci.runs.redact import REDACTED, Redactor
from tests.workflow_commands import github_commands


@pytest.mark.parametrize(
    ("name", "tool_input", "line"),
    [
        ("bash", {"command": "ls -la"}, "→ bash: ls -la"),
        ("bash", {"command": "cat <<EOF\nx\nEOF"}, "→ bash: cat <<EOF …"),
        ("bash", {"restart": True}, "→ bash: (restart)"),
        (
            "str_replace_based_edit_tool",
            {"command": "create", "path": "reports/x.md", "file_text": "x"},
            "→ edit create reports/x.md",
        ),
        (
            "str_replace_based_edit_tool",
            {"command": "view", "path": "a.py", "view_range": [1, 20]},
            "→ edit view a.py lines 1-20",
        ),
        (
            "str_replace_based_edit_tool",
            {"command": "insert", "path": "a.py", "insert_line": 3, "new_str": "y"},
            "→ edit insert a.py at line 3",
        ),
        ("ask_user", {"question": "Which team?"}, "→ ask_user: Which team?"),
        ("web_search", {"q": "x"}, '→ web_search {"q": "x"}'),
    ],
)
def test_tool_lines(name: str, tool_input: dict[str, Any], line: str) -> None:
    assert describe_tool_call(name, tool_input) == line


def test_long_commands_are_cut() -> None:
    line = describe_tool_call("bash", {"command": "echo " + "x" * 500})
    assert len(line) == 120 and line.endswith("…")


def test_secret_split_across_deltas_is_redacted() -> None:
    out = io.StringIO()
    console = ConsoleObserver(out, Redactor(["supersecret-123"]), color=False)
    for delta in ["the value is super", "secret-1", "23 and\nmore", " text"]:
        console.on_text(delta)
    console.on_response(1, {})
    assert out.getvalue() == "the value is [REDACTED] and\nmore text\n"


def test_question_is_answered_from_the_terminal() -> None:
    out = io.StringIO()
    console = ConsoleObserver(out, Redactor([]), color=False, answers=io.StringIO("growth\n"))
    assert console.ask("Which team?") == "growth"
    assert "? Which team?" in out.getvalue()
    with pytest.raises(NeedsInput):
        ConsoleObserver(out, Redactor([]), color=False).ask("Which team?")


FORGED = [
    "::add-mask::bassi",
    "::set-output name=status::success",
    "::error::forged",
    "::stop-commands::x",
    "::x::",
    "  ::warning::indented",
]


def test_on_github_model_text_and_tool_output_cannot_issue_workflow_commands() -> None:
    out = io.StringIO()
    console = ConsoleObserver(out, Redactor([]), color=False, folder=Folder(CiEnvironment(github=True)))
    console.on_text("\n".join(FORGED) + "\n")
    console.on_tool_call("bash", {"command": "cat forged.txt"})
    console.on_tool_result("bash", "\n".join(FORGED), is_error=False)
    console.on_text(FORGED[0])
    console.flush()
    commands, tokens = github_commands(out.getvalue())
    assert commands == ["::group::→ bash: cat forged.txt", "::endgroup::"]
    assert len(tokens) == len(set(tokens)) == 3 and all(re.fullmatch("[0-9a-f]{32}", t) for t in tokens)
    assert out.getvalue().splitlines().count(FORGED[0]) == 3  # still shown in the log, only inert


def test_a_secret_split_between_two_text_blocks_is_redacted_in_the_transcript(tmp_path: Path) -> None:
    log = tmp_path / "run.jsonl"
    transcript = TranscriptObserver(log, Redactor(["tok-9f8e7d6c5b4a3921"]))
    blocks = [{"type": "text", "text": "the token is tok-9f8e"}, {"type": "text", "text": "7d6c5b4a3921, done"}]
    transcript.on_response(1, {"role": "assistant", "content": blocks})
    transcript.close()
    event = json.loads(log.read_text())
    assert [b["text"] for b in event["message"]["content"]] == [f"the token is {REDACTED}", f"{REDACTED}, done"]
