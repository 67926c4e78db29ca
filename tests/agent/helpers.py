"""Shared helpers for the agent tests: requests, transports and an observer that remembers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bassi_ci.agent.loop import AgentOutcome, AgentRequest, NullObserver, run_agent
from bassi_ci.agent.transport import AnthropicTransport, Transport
from bassi_ci.runs.history import process_alive
from bassi_ci.tasks.model import ALL_TOOLS

MODEL = "claude-sonnet-5-5"


def make_request(workdir: Path, prompt: str = "do the task", **overrides: Any) -> AgentRequest:
    values: dict[str, Any] = {
        "prompt": prompt,
        "model": MODEL,
        "workdir": workdir,
        "allowed_tools": ALL_TOOLS,
        "max_turns": None,
        "max_budget_usd": None,
        "deadline": time.monotonic() + 30,
        "interactive": False,
    }
    values.update(overrides)
    return AgentRequest(**values)


def transport(retries: int = 2, sdk_max_retries: int = 2) -> AnthropicTransport:
    return AnthropicTransport(retries=retries, sdk_max_retries=sdk_max_retries, backoff_s=0.01)


@dataclass
class RecordingObserver(NullObserver):
    """Keeps every event; answers ask() from `answers`."""

    answers: list[str] = field(default_factory=list)
    events: list[tuple[str, Any]] = field(default_factory=list)

    def on_request(self, turn: int, meta: dict[str, object]) -> None:
        self.events.append(("request", (turn, meta)))

    def on_text(self, delta: str) -> None:
        self.events.append(("text", delta))

    def on_response(self, turn: int, message: dict[str, object]) -> None:
        self.events.append(("response", (turn, message)))

    def on_tool_call(self, name: str, tool_input: dict[str, object]) -> None:
        self.events.append(("tool_call", (name, tool_input)))

    def on_tool_result(self, name: str, output: str, is_error: bool) -> None:
        self.events.append(("tool_result", (name, output, is_error)))

    def ask(self, question: str) -> str:
        self.events.append(("ask", question))
        return self.answers.pop(0)

    def of(self, kind: str) -> list[Any]:
        return [value for name, value in self.events if name == kind]


def run(request: AgentRequest, via: Transport | None = None, observer: Any = None) -> AgentOutcome:
    return run_agent(request, via or transport(), observer or NullObserver())


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool_result blocks of the newest user message in a request body."""
    return [b for b in body["messages"][-1]["content"] if b.get("type") == "tool_result"]


def alive(pid: int) -> bool:
    """Whether `pid` is a running (not zombie) process."""
    return process_alive(pid, None)


def wait_gone(pid: int, seconds: float = 3.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)
