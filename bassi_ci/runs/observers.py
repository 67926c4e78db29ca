"""Observers of the agent loop: the JSON Lines transcript and the live console view.

Both pass everything through the Redactor before it is written anywhere.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import click

from bassi_ci import clock, output
from bassi_ci.agent.loop import AgentObserver, NullObserver
from bassi_ci.errors import NeedsInput, StoreError
from bassi_ci.runs.ci import Folder, stop_commands
from bassi_ci.runs.redact import Redactor

TOOL_LINE_WIDTH = 120
FOLDED_OUTPUT_CHARS = 4_000


class TranscriptObserver(NullObserver):
    """Appends one JSON object per event to the run's log file, flushed as it goes."""

    def __init__(self, path: Path, redactor: Redactor) -> None:
        self.path = path
        self.redactor = redactor
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")
        except OSError as problem:
            raise StoreError(f"cannot write the run log {path}: {problem.strerror or problem}") from None

    def event(self, kind: str, **fields: Any) -> None:
        if self._file.closed:
            return
        record = self.redactor.data({"ts": clock.utc_iso(clock.now()), "event": kind, **fields})
        self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def on_request(self, turn: int, meta: dict[str, object]) -> None:
        self.event("request", turn=turn, **meta)

    def on_response(self, turn: int, message: dict[str, object]) -> None:
        # Redacted here, where all text blocks are seen together: a secret may span two.
        self.event("response", turn=turn, message=self.redactor.message(message))

    def on_tool_call(self, name: str, tool_input: dict[str, object]) -> None:
        self.event("tool_call", name=name, input=tool_input)

    def on_tool_result(self, name: str, output: str, is_error: bool) -> None:
        self.event("tool_result", name=name, output=output, is_error=is_error)


class ConsoleObserver(NullObserver):
    """The live view: model text as it streams, one line per tool call.

    Text is written a line at a time, so a secret split across two stream deltas is
    still redacted whole. In CI the output of each tool is folded under its call line.
    On GitHub, model text and tool output could hold workflow commands (`::add-mask::`,
    `::set-output`, ...), so they are written with commands stopped; bassi's own lines
    (groups, annotations) resume them first.
    """

    def __init__(
        self,
        out: IO[str],
        redactor: Redactor,
        *,
        color: bool,
        folder: Folder | None = None,
        answers: IO[str] | None = None,
    ) -> None:
        self.out = out
        self.redactor = redactor
        self.color = color
        self.folder = folder
        self.answers = answers
        self._pending = ""
        self._call_line = ""
        self._resume: str | None = None  # the line that resumes commands, while they are stopped

    def write_line(self, line: str) -> None:
        """One of bassi's own lines."""
        self._resume_commands()
        self._emit(line)

    def write_untrusted(self, line: str) -> None:
        """A line of model text or tool output, which must not act as a workflow command."""
        if self.folder is not None and self.folder.env.github and self._resume is None:
            stop, self._resume = stop_commands()
            self._emit(stop)
        self._emit(line)

    def _resume_commands(self) -> None:
        if self._resume is not None:
            self._emit(self._resume)
            self._resume = None

    def _emit(self, line: str) -> None:
        output.write(self.out, self.redactor.text(line) + "\n")

    def on_text(self, delta: str) -> None:
        self._pending += delta
        if "\n" in self._pending:
            done, self._pending = self._pending.rsplit("\n", 1)
            for line in done.split("\n"):
                self.write_untrusted(line)

    def flush(self) -> None:
        if self._pending:
            self.write_untrusted(self._pending)
            self._pending = ""
        self._resume_commands()

    def on_response(self, turn: int, message: dict[str, object]) -> None:
        self.flush()

    def on_tool_call(self, name: str, tool_input: dict[str, object]) -> None:
        self.flush()
        self._call_line = describe_tool_call(name, tool_input)
        if self.folder is None or not self.folder.folds:
            self.write_untrusted(self._style(self._call_line, "cyan"))

    def on_tool_result(self, name: str, output: str, is_error: bool) -> None:
        if self.folder is not None and self.folder.folds:
            self.write_line(self.folder.start(self._call_line + (" (error)" if is_error else "")))
            text = output if len(output) <= FOLDED_OUTPUT_CHARS else output[:FOLDED_OUTPUT_CHARS] + "\n[...]"
            for line in text.splitlines():
                self.write_untrusted(line)
            end = self.folder.end()
            if end:
                self.write_line(end)
        elif is_error:
            first = next((line for line in output.splitlines() if line.strip()), "(no output)")
            self.write_untrusted(self._style(f"  ✗ {shorten(first)}", "red"))
        self._resume_commands()

    def ask(self, question: str) -> str:
        self.flush()
        if self.answers is None:
            raise NeedsInput(f"the agent asked a question nobody can answer here: {question}")
        self.write_untrusted(self._style(f"? {question}", "yellow"))
        self._resume_commands()
        output.write(self.out, "> ")
        answer = self.answers.readline()
        if not answer:
            raise NeedsInput(f"the agent asked a question and got no answer: {question}")
        return answer.rstrip("\n")

    def _style(self, text: str, colour: str) -> str:
        if not self.color:
            return text
        return click.style(text, fg=colour)


class FanOut(NullObserver):
    """Several observers as one; the first one that can answer `ask` does."""

    def __init__(self, observers: Sequence[AgentObserver], asker: AgentObserver | None = None) -> None:
        self.observers = list(observers)
        self.asker = asker

    def on_request(self, turn: int, meta: dict[str, object]) -> None:
        for observer in self.observers:
            observer.on_request(turn, meta)

    def on_text(self, delta: str) -> None:
        for observer in self.observers:
            observer.on_text(delta)

    def on_response(self, turn: int, message: dict[str, object]) -> None:
        for observer in self.observers:
            observer.on_response(turn, message)

    def on_tool_call(self, name: str, tool_input: dict[str, object]) -> None:
        for observer in self.observers:
            observer.on_tool_call(name, tool_input)

    def on_tool_result(self, name: str, output: str, is_error: bool) -> None:
        for observer in self.observers:
            observer.on_tool_result(name, output, is_error)

    def ask(self, question: str) -> str:
        if self.asker is None:
            return super().ask(question)
        return self.asker.ask(question)

    def flush(self) -> None:
        for observer in self.observers:
            observer.flush()


def describe_tool_call(name: str, tool_input: dict[str, object]) -> str:
    """One readable line: `→ bash: ls -la`, `→ edit create reports/x.md`."""
    if name == "bash":
        if tool_input.get("restart"):
            return "→ bash: (restart)"
        command = str(tool_input.get("command", "")).strip()
        return shorten("→ bash: " + command)
    if name == "str_replace_based_edit_tool":
        action = str(tool_input.get("command", "?"))
        path = str(tool_input.get("path", ""))
        extra = ""
        view_range = tool_input.get("view_range")
        if action == "view" and isinstance(view_range, list):
            extra = " lines " + "-".join(str(n) for n in view_range)
        if action == "insert":
            extra = f" at line {tool_input.get('insert_line')}"
        return shorten(f"→ edit {action} {shlex.quote(path) if ' ' in path else path}{extra}")
    if name == "ask_user":
        return shorten("→ ask_user: " + str(tool_input.get("question", "")))
    return shorten(f"→ {name} {json.dumps(tool_input, ensure_ascii=False)}")


def shorten(text: str, width: int = TOOL_LINE_WIDTH) -> str:
    lines = text.splitlines() or [""]
    line = lines[0] + (" …" if len(lines) > 1 else "")
    return line if len(line) <= width else line[: width - 1] + "…"
