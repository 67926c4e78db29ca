"""The tool-use loop that `bassi execute` runs: prompt → model → tools → model … → outcome.

run_agent() never raises for the documented outcomes; it returns an AgentOutcome whose
exit code follows docs/design.md:

- 0 success: the model ended its turn (stop_reason "end_turn" or "stop_sequence").
- 1 failed: the model ended but did not finish: its final text starts with "FAILED:" (the
  system prompt asks it to do so when it cannot do the task), or it stopped for
  "max_tokens", "refusal" or any other reason than the two above; with an output schema,
  also when no valid structured_output call came (error.type invalid_output; structured.py).
- 3 needs_input: the model called ask_user in a non-interactive run (`question` is set).
- 4 timeout: the deadline passed — checked before each API call, the API call gets only
  the time left, and bash commands are cut at the deadline with their process groups.
- 5 limit_reached: checked before each new API call: `max_turns` round trips were made,
  or the cost so far (usage reported by the API × pricing table) reached max_budget_usd.
- 6 api_error / 7 auth_error: from the transport (see transport.py).
- 2 usage_error: from the transport too, when a --replay recording has no answer left.
- 130 interrupted: KeyboardInterrupt; the partial statistics are still returned.
- 1 failed with error InternalError: a defect (in bassi or an observer); the statistics so far
  are still returned, and the error's `detail` holds the traceback.

A tool that fails unexpectedly (a bug, a NUL byte the OS refuses) gives the model an
is_error tool_result and the run goes on. Every process a bash command started (its process
group, and processes that left it) is killed when the run ends, whatever the outcome.

MCP servers (request.mcp_servers; mcp_tools.py) are started before the first API call, their
allowed tools offered after the built-in ones, and every one of them stopped when the run
ends, whatever the outcome. A server that cannot start ends the run before any API call:
2 usage_error for a definition that cannot work, 1 failed for a server that dies or does not
initialize.

Structured output (request.output_schema; structured.py): the tool `structured_output` is
offered last, with the schema as its input schema. A valid call ends the run after the other
tool calls of the same reply have run, without another API call; a turn that ends without one
gets one reminder.

Prompt caching: cache_control breakpoints go on the last tool definition, on the
system prompt and on the last content block of the newest message (3 of the 4 allowed),
so each turn reads the previous turn's prefix from the cache.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bassi_ci.agent.pricing import cost_usd
from bassi_ci.agent.structured import STRUCTURED_OUTPUT, StructuredOutput
from bassi_ci.agent.structured import SYSTEM_PROMPT as STRUCTURED_SYSTEM_PROMPT
from bassi_ci.agent.structured import tool_definition as structured_tool
from bassi_ci.agent.tools import BASH, EDITOR, ToolResult, tool_definitions
from bassi_ci.agent.tools.bash import BashTool
from bassi_ci.agent.tools.editor import EditorTool
from bassi_ci.agent.transport import Transport
from bassi_ci.errors import (
    BassiError,
    ExitCode,
    LimitReached,
    NeedsInput,
    RunFailed,
    RunTimeout,
    as_bassi_error,
)
from bassi_ci.tasks.mcp_servers import McpServerSpec
from bassi_ci.tasks.model import ALL_TOOLS

if TYPE_CHECKING:
    from bassi_ci.agent.mcp_tools import McpServers

# (event kind, fields) for the run's transcript: what the loop has to tell beyond the observer's events.
EventSink = Callable[..., None]

FAILURE_MARKER = "FAILED:"
DEFAULT_MAX_TOKENS = 16_384
EPHEMERAL: dict[str, str] = {"type": "ephemeral"}
SNAPSHOT_FILE_LIMIT = 20_000

BASE_SYSTEM_PROMPT = """\
You are running a scheduled bassi-ci task, unattended. Your workspace is {workdir}; \
the file tools and bash work inside it, so use paths relative to it. Nobody watches \
the run: do the task fully, then end with a short summary of what you did. If you \
cannot do the task, start your final reply with "{marker}" followed by the reason."""


@dataclass(frozen=True)
class AgentRequest:
    prompt: str
    model: str
    workdir: Path
    allowed_tools: tuple[str, ...]
    max_turns: int | None
    max_budget_usd: float | None
    deadline: float | None  # time.monotonic() value when the whole run must stop
    interactive: bool
    system_prompt: str | None = None
    bash_timeout_s: float = 120.0
    max_tool_output_chars: int = 30_000
    max_tokens: int = DEFAULT_MAX_TOKENS
    mcp_servers: tuple[McpServerSpec, ...] = ()
    mcp_call_timeout_s: float = 120.0
    output_schema: dict[str, Any] | None = None  # already checked (tasks/output_schema.py)


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def add(self, usage: Mapping[str, object] | Usage) -> None:
        """Add one response's usage (the API's usage dict, or another Usage)."""
        values = usage.as_dict() if isinstance(usage, Usage) else usage
        for name in self.as_dict():
            value = values.get(name)
            # A replay file or a misbehaving server may say anything: only counts add up.
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }


@dataclass
class AgentOutcome:
    exit_code: ExitCode
    final_text: str
    num_turns: int
    usage: Usage
    total_cost_usd: float
    duration_api_ms: int
    permission_denials: list[dict[str, object]]
    files_changed: list[str]
    error: BassiError | None
    question: str | None = None
    structured_output: dict[str, Any] | None = None


class AgentObserver(Protocol):
    def on_request(self, turn: int, meta: dict[str, object]) -> None: ...
    def on_text(self, delta: str) -> None: ...
    def on_response(self, turn: int, message: dict[str, object]) -> None: ...
    def on_tool_call(self, name: str, tool_input: dict[str, object]) -> None: ...
    def on_tool_result(self, name: str, output: str, is_error: bool) -> None: ...
    def ask(self, question: str) -> str: ...
    def flush(self) -> None:
        """Write out what is buffered; the executor calls it once the loop has ended."""


class NullObserver:
    """Observes nothing; ask() raises NeedsInput, as nobody can answer."""

    def on_request(self, turn: int, meta: dict[str, object]) -> None:
        pass

    def on_text(self, delta: str) -> None:
        pass

    def on_response(self, turn: int, message: dict[str, object]) -> None:
        pass

    def on_tool_call(self, name: str, tool_input: dict[str, object]) -> None:
        pass

    def on_tool_result(self, name: str, output: str, is_error: bool) -> None:
        pass

    def ask(self, question: str) -> str:
        raise NeedsInput(f"the agent asked a question nobody can answer here: {question}")

    def flush(self) -> None:
        pass


def run_agent(
    request: AgentRequest, transport: Transport, observer: AgentObserver, events: EventSink | None = None
) -> AgentOutcome:
    """Run the loop to its end and say how it ended (see the module docstring)."""
    return _Run(request, transport, observer, events or _no_events).run()


def _no_events(kind: str, **fields: object) -> None:
    pass


@dataclass
class _Run:
    request: AgentRequest
    transport: Transport
    observer: AgentObserver
    events: EventSink
    messages: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    num_turns: int = 0
    api_seconds: float = 0.0
    final_text: str = ""
    question: str | None = None
    denials: list[dict[str, object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        request = self.request
        self.bash = BashTool(
            request.workdir, timeout_s=request.bash_timeout_s, max_output_chars=request.max_tool_output_chars
        )
        self.editor = EditorTool(
            request.workdir, max_output_chars=request.max_tool_output_chars, deadline=request.deadline
        )
        self.mcp: McpServers | None = None
        self.structured = StructuredOutput(request.output_schema) if request.output_schema is not None else None
        self._offer_tools()
        system = BASE_SYSTEM_PROMPT.format(workdir=self.editor.root, marker=FAILURE_MARKER)
        if self.structured is not None:
            system = f"{system}\n\n{STRUCTURED_SYSTEM_PROMPT}"
        if request.system_prompt:
            system = f"{system}\n\n{request.system_prompt}"
        self.system = [{"type": "text", "text": system, "cache_control": EPHEMERAL}]

    @property
    def cost(self) -> float:
        return cost_usd(self.request.model, self.usage)

    def run(self) -> AgentOutcome:
        before = _snapshot(self.editor.root)
        error: BassiError | None = None
        try:
            self._start_mcp_servers()
            self._loop()
        except (Exception, KeyboardInterrupt) as ending:  # the statistics so far belong in the result
            error = as_bassi_error(ending, interrupted="interrupted; the run was stopped and its processes killed")
        finally:
            try:
                if self.mcp is not None:
                    self.mcp.close()
            finally:
                self.bash.close()
        return AgentOutcome(
            exit_code=error.exit_code if error else ExitCode.SUCCESS,
            final_text=self.final_text,
            num_turns=self.num_turns,
            usage=self.usage,
            total_cost_usd=self.cost,
            duration_api_ms=round(self.api_seconds * 1000),
            permission_denials=self.denials,
            files_changed=self._files_changed(before),
            error=error,
            question=self.question,
            structured_output=self.structured.value if self.structured is not None else None,
        )

    def _offer_tools(self) -> None:
        """The built-in tools the task allows, the MCP tools, then structured_output; the cache
        breakpoint on the last."""
        self.tools = tool_definitions(self.request.allowed_tools)
        if self.mcp is not None:
            self.tools += [tool.definition for tool in self.mcp.tools]
        if self.structured is not None:
            self.tools.append(structured_tool(self.structured.schema))
        if self.tools:
            self.tools[-1] = {**self.tools[-1], "cache_control": EPHEMERAL}

    def _start_mcp_servers(self) -> None:
        request = self.request
        if not request.mcp_servers:
            return
        # Lazy: the mcp SDK takes about 1.2 s to import, which runs without MCP servers never need.
        from bassi_ci.agent.mcp_tools import McpServers

        self.mcp = McpServers(
            request.mcp_servers, workdir=self.editor.root, allowed=request.allowed_tools, log=self.events
        )
        self.mcp.start(request.deadline)
        self._offer_tools()

    def _loop(self) -> None:
        self.messages.append({"role": "user", "content": [{"type": "text", "text": self.request.prompt}]})
        while True:
            self._check_limits()
            message = self._call_api()
            stop_reason = message.get("stop_reason")
            content = _content_blocks(message)
            text = "".join(str(b.get("text", "")) for b in content if b.get("type") == "text")
            if text.strip():
                self.final_text = text
            history = _for_history(content)
            if history:
                self.messages.append({"role": "assistant", "content": history})
            calls = [b for b in content if b.get("type") == "tool_use"]
            if stop_reason == "tool_use" and calls:
                self.messages.append({"role": "user", "content": [self._run_tool(c) for c in calls]})
                if self.structured is not None and self.structured.done:
                    self._finish(stop_reason)
                    return
            elif stop_reason == "pause_turn" and history:
                continue
            else:
                self._finish(stop_reason)
                if not self._remind_of_structured_output():
                    return

    def _check_limits(self) -> None:
        request = self.request
        if request.deadline is not None and time.monotonic() >= request.deadline:
            raise RunTimeout("the run's time limit was reached")
        if request.max_turns is not None and self.num_turns >= request.max_turns:
            raise LimitReached(f"max_turns reached: {self.num_turns} API round trips were made")
        if request.max_budget_usd is not None and self.cost >= request.max_budget_usd:
            raise LimitReached(f"max_budget_usd reached: ${self.cost:.4f} spent of ${request.max_budget_usd:.4f}")

    def _call_api(self) -> dict[str, object]:
        request = self.request
        params: dict[str, object] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "system": self.system,
            "messages": _with_breakpoint(self.messages),
        }
        if self.tools:
            params["tools"] = self.tools
        turn = self.num_turns + 1
        self.observer.on_request(
            turn,
            {
                "model": request.model,
                "max_tokens": request.max_tokens,
                "messages": len(self.messages),
                "tools": [str(t["name"]) for t in self.tools],
            },
        )
        timeout_s = None if request.deadline is None else max(request.deadline - time.monotonic(), 0.0)
        started = time.monotonic()
        try:
            message = self.transport.stream_message(params, timeout_s, self.observer.on_text)
        finally:
            self.api_seconds += time.monotonic() - started
        self.num_turns = turn
        usage = message.get("usage")
        if isinstance(usage, Mapping):
            self.usage.add(usage)
        self.observer.on_response(turn, message)
        return message

    def _finish(self, stop_reason: object) -> None:
        if stop_reason in ("end_turn", "stop_sequence", "tool_use"):
            if self.final_text.lstrip().startswith(FAILURE_MARKER):
                raise RunFailed(self.final_text.strip()[:500])
            return
        if stop_reason == "max_tokens":
            raise RunFailed(f"the model's reply was cut at max_tokens ({self.request.max_tokens}) before it finished")
        if stop_reason == "refusal":
            raise RunFailed("the model declined to continue (stop_reason: refusal)")
        raise RunFailed(f"the model stopped without finishing (stop_reason: {stop_reason})")

    def _remind_of_structured_output(self) -> bool:
        """After a successful end: whether the run goes on for its one reminder to call
        structured_output (raises InvalidOutput when it was reminded already)."""
        if self.structured is None or self.structured.done:
            return False
        reminder = {"type": "text", "text": self.structured.reminder()}
        if self.messages and self.messages[-1]["role"] == "user":  # the model said nothing: one user turn
            self.messages[-1] = {**self.messages[-1], "content": [*self.messages[-1]["content"], reminder]}
        else:
            self.messages.append({"role": "user", "content": [reminder]})
        return True

    def _run_tool(self, call: dict[str, Any]) -> dict[str, object]:
        name = str(call.get("name"))
        raw_input = call.get("input")
        tool_input: dict[str, object] = raw_input if isinstance(raw_input, dict) else {}
        self.observer.on_tool_call(name, tool_input)
        try:
            result = self._dispatch(name, str(call.get("id")), tool_input)
        except BassiError:
            raise  # timeout, needs_input: outcomes of the run, not of the tool
        except Exception as bug:
            # A tool's bug must not end the run and lose its statistics: the model is told.
            result = ToolResult(f"Error: the tool {name} failed: {type(bug).__name__}: {bug}", True)
        self.observer.on_tool_result(name, result.output, result.is_error)
        block: dict[str, object] = {
            "type": "tool_result",
            "tool_use_id": call.get("id"),
            "content": list(result.blocks) if result.blocks else result.output,
        }
        if result.is_error:
            block["is_error"] = True
        return block

    def _dispatch(self, name: str, tool_use_id: str, tool_input: dict[str, object]) -> ToolResult:
        if name == STRUCTURED_OUTPUT and self.structured is not None:
            return self.structured.call(tool_input)
        if self.mcp is not None and self.mcp.offers(name):
            return self._call_mcp(name, tool_input)
        if name not in self.request.allowed_tools or name not in ALL_TOOLS:
            reason = f"the tool {name!r} is not allowed for this task"
            self.denials.append(
                {"tool_name": name, "tool_use_id": tool_use_id, "tool_input": tool_input, "reason": reason}
            )
            offered = [str(tool["name"]) for tool in self.tools]
            allowed = ", ".join(offered) or "none"
            return ToolResult(f"Permission denied: {reason} (allowed tools: {allowed}).", True)
        if name == BASH:
            return self.bash(tool_input, self.request.deadline)
        if name == EDITOR:
            return self.editor(tool_input)
        return self._ask(tool_input)

    def _call_mcp(self, name: str, tool_input: dict[str, object]) -> ToolResult:
        """An MCP tool call, cut at the per-call limit or, when that comes first, the run's deadline."""
        assert self.mcp is not None
        request = self.request
        limit, by_deadline = request.mcp_call_timeout_s, False
        if request.deadline is not None:
            remaining = request.deadline - time.monotonic()
            if remaining <= 0:
                raise RunTimeout("the run's time limit was reached before an MCP tool could be called")
            if remaining < limit:
                limit, by_deadline = remaining, True
        return self.mcp.call(
            name, tool_input, limit_s=limit, by_deadline=by_deadline, max_chars=request.max_tool_output_chars
        )

    def _ask(self, tool_input: dict[str, object]) -> ToolResult:
        question = str(tool_input.get("question", "")).strip()
        if not question:
            return ToolResult("ask_user needs a non-empty `question`.", True)
        if not self.request.interactive:
            self.question = question
            raise NeedsInput(f"the agent asked a question and this run cannot answer it: {question}")
        try:
            return ToolResult(self.observer.ask(question))
        except NeedsInput:
            self.question = question
            raise

    def _files_changed(self, before: dict[str, tuple[int, int]] | None) -> list[str]:
        changed = set(self.editor.changed)
        after = _snapshot(self.editor.root) if before is not None else None
        if before is not None and after is not None:
            changed.update(path for path, stamp in after.items() if before.get(path) != stamp)
        return sorted(changed)


def _content_blocks(message: Mapping[str, object]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [block for block in content if isinstance(block, dict)] if isinstance(content, list) else []


_HISTORY_FIELDS = {
    "text": ("type", "text", "citations"),
    "tool_use": ("type", "id", "name", "input"),
    "thinking": ("type", "thinking", "signature"),
    "redacted_thinking": ("type", "data"),
}


def _for_history(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The assistant blocks as the API accepts them back: known fields only, no empty text."""
    blocks: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "text" and not block.get("text"):
            continue
        keep = _HISTORY_FIELDS.get(str(kind))
        if keep is None:
            blocks.append({k: v for k, v in block.items() if v is not None and k != "parsed_output"})
        else:
            blocks.append({k: block[k] for k in keep if block.get(k) is not None})
    return blocks


def _with_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with a cache breakpoint on the last block of the newest one (copied, not changed)."""
    if not messages or not messages[-1]["content"]:
        return list(messages)
    last = messages[-1]
    content = list(last["content"])
    content[-1] = {**content[-1], "cache_control": EPHEMERAL}
    return [*messages[:-1], {**last, "content": content}]


def _snapshot(root: Path) -> dict[str, tuple[int, int]] | None:
    """(mtime_ns, size) of every file under root except .git; None when there are too many."""
    stamps: dict[str, tuple[int, int]] = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name != ".git"]
        for name in files:
            path = os.path.join(folder, name)
            try:
                stat = os.lstat(path)
            except OSError:
                continue
            stamps[os.path.relpath(path, root).replace(os.sep, "/")] = (stat.st_mtime_ns, stat.st_size)
            if len(stamps) > SNAPSHOT_FILE_LIMIT:
                return None
    return stamps
