"""The MCP servers of one run: started (stdio) or connected to (HTTP), their tools offered to the
model as `mcp__<server>__<tool>`, calls passed through, and every server stopped at the end.

The official `mcp` SDK is asynchronous and the agent loop is not. One event loop runs in a
thread of its own for the whole run and owns every connection: each server is held open by one
task (`_hold`) that enters the SDK's transport and `ClientSession`, initializes, lists the
tools, and then waits to be cancelled — the SDK's context managers must be left by the task
that entered them. The loop's thread submits tool calls with `run_coroutine_threadsafe` and
waits on the future for as long as the call may take.

Stopping (close(), called by the loop however the run ends: success, failure, timeout, an
interrupt or SIGTERM, a defect): every holding task is cancelled, and the SDK's stdio transport
then stops its server as the MCP specification says — stdin closed, a grace period, SIGTERM to
the server's process group (the SDK starts each server in a session of its own), SIGKILL —
with every wait bounded. After that, whatever is left is killed by bassi: the servers' process
groups, and every process that carries this run's marker variable (`BASSI_MCP_SESSION`) in its
environment, which each server and whatever it starts inherit (as the bash tool does). A server
that hangs on shutdown therefore costs a few seconds at most, never an orphan. Each stdio server
is started through mcp_launcher.py, which has the kernel SIGKILL it when the event-loop thread
ends, so even a SIGKILL of bassi leaves no server behind (its stdin's end of file would only
ask it to exit).

A server's stderr goes to a temporary file; its first and last lines go into the error when the
server fails to start or dies, and the whole (up to STDERR_LOG_LIMIT) goes to the run's
transcript at the end.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import mcp_types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client  # the SDK's own client factory (timeouts)

from bassi_ci.agent import mcp_launcher
from bassi_ci.agent.mcp_results import API_TOOL_NAME_RE, tool_definition, tool_result
from bassi_ci.agent.tools import ToolResult
from bassi_ci.agent.tools.bash import HIDDEN_FROM_COMMANDS
from bassi_ci.agent.tools.containment import keep_session, kill_marked, marked_processes, release_session
from bassi_ci.agent.tools.supervisor import process_table
from bassi_ci.errors import RunFailed, RunTimeout
from bassi_ci.signals import interrupts_deferred
from bassi_ci.tasks.mcp_servers import McpConfigError, McpServerSpec, mcp_tool_allowed, mcp_tool_name, resolved

MARKER_ENV = "BASSI_MCP_SESSION"
LAUNCHER = Path(mcp_launcher.__file__)
START_TIMEOUT_S = 60.0  # initialize + tools/list of one server
STOP_TIMEOUT_S = 8.0  # the SDK's bounded shutdown: 0.5 s flush + 2 s grace + 2 s after SIGTERM + reaping
STDERR_LOG_LIMIT = 64 * 1024

# The SDK logs transport trouble (a server that prints junk on stdout) with tracebacks; with no
# handler Python would print them on stderr. What matters reaches the model or the error instead.
logging.getLogger("mcp").addHandler(logging.NullHandler())
logging.getLogger("mcp").propagate = False

# (event kind, fields) into the run's transcript; the transcript redacts.
EventSink = Callable[..., None]


class McpServerFailed(RunFailed):
    """An MCP server died, or did not initialize, when the run started (exit 1)."""


@dataclass(frozen=True)
class McpTool:
    """One server tool as offered to the model."""

    name: str  # mcp__<server>__<tool>
    server: str
    tool: str  # as the server knows it
    definition: dict[str, Any]


@dataclass
class _Connection:
    spec: McpServerSpec
    stderr: TextIO
    tools: list[mcp_types.Tool] = field(default_factory=list)
    session: ClientSession | None = None
    ready: concurrent.futures.Future[None] = field(default_factory=concurrent.futures.Future)
    finished: threading.Event = field(default_factory=threading.Event)
    holder: concurrent.futures.Future[None] | None = None

    def stderr_gist(self) -> str:
        """The first line of the server's stderr, and its last when there are more: a banner
        or "Traceback …" often comes first, the exception's own line last (the whole is in the
        transcript)."""
        lines = [line.strip()[:300] for line in _read_text(self.stderr, STDERR_LOG_LIMIT).splitlines() if line.strip()]
        if not lines:
            return ""
        return lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"


class McpServers:
    """The MCP servers of a run; start() them, offer `tools`, call(), and always close()."""

    def __init__(self, specs: tuple[McpServerSpec, ...], *, workdir: Path, allowed: tuple[str, ...], log: EventSink):
        self.specs = specs
        self.workdir = workdir
        self.allowed = allowed
        self.log = log
        self.tools: list[McpTool] = []
        self._by_name: dict[str, tuple[_Connection, McpTool]] = {}
        self._connections: list[_Connection] = []
        self._marker = secrets.token_hex(8)
        self._groups: set[int] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bassi-mcp", daemon=True)

    # ------------------------------------------------------------------ start

    def start(self, deadline: float | None) -> None:
        """Start or connect to every server, concurrently; raise McpConfigError (exit 2) for a
        definition that cannot work, McpServerFailed (exit 1) for a server that dies or does
        not initialize, RunTimeout when the run's deadline passes first."""
        servers = [self._checked(resolved(_refuse_hidden(spec), os.environ)) for spec in self.specs]
        self._thread.start()
        for spec in servers:
            stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115 - closed by close()
            connection = _Connection(spec, stderr)
            self._connections.append(connection)
            connection.holder = asyncio.run_coroutine_threadsafe(self._hold(connection), self._loop)
        for connection in self._connections:
            self._await_ready(connection, deadline)
        self._keep_server_sessions()
        for connection in self._connections:
            self._offer(connection)

    def _checked(self, spec: McpServerSpec) -> McpServerSpec:
        """A stdio server's program must exist before anything starts (a typo is a usage error)."""
        if spec.type != "stdio":
            return spec
        path = os.environ.get("PATH", os.defpath)
        program = spec.command if "/" not in spec.command else str(self.workdir / spec.command)
        if shutil.which(program, path=path) is None:
            raise McpConfigError(
                f"MCP server '{spec.name}': command '{spec.command}' was not found "
                f"({'relative to the workspace' if '/' in spec.command else 'on PATH'}) or is not executable"
            )
        return spec

    def _await_ready(self, connection: _Connection, deadline: float | None) -> None:
        limit = START_TIMEOUT_S
        by_deadline = deadline is not None and deadline - time.monotonic() < limit
        if deadline is not None:
            limit = min(limit, max(deadline - time.monotonic(), 0.0))
        name = connection.spec.name
        try:
            connection.ready.result(timeout=limit)
        except concurrent.futures.TimeoutError:
            if by_deadline:
                raise RunTimeout(
                    f"the run's time limit was reached while the MCP server '{name}' was starting"
                ) from None
            raise McpServerFailed(
                f"MCP server '{name}' did not finish initializing within {limit:g} s{self._said(connection)}"
            ) from None
        except OSError as problem:  # the program could not be started at all
            if connection.spec.type != "stdio":
                raise McpServerFailed(f"MCP server '{name}' cannot be reached: {_describe(problem)}") from None
            raise McpConfigError(f"MCP server '{name}': cannot start '{connection.spec.command}': {problem}") from None
        except Exception as problem:
            raise McpServerFailed(
                f"MCP server '{name}' failed to start: {_describe(problem)}{self._said(connection)}"
            ) from None

    @staticmethod
    def _said(connection: _Connection) -> str:
        gist = connection.stderr_gist()
        return f"; its stderr says: {gist}" if gist else ""

    def _keep_server_sessions(self) -> None:
        """Tell the bash tool's containment that the servers (bassi's children, each in a session
        of its own) are not processes the agent detached: `bash` restarts must not kill them."""
        table = process_table() or {}
        me = os.getpid()
        for pid in marked_processes(self._marker_entry):
            row = table.get(pid)
            if row is not None and row[0] == me:
                self._groups.add(row[2])
                keep_session(row[2])

    def _offer(self, connection: _Connection) -> None:
        spec = connection.spec
        offered, not_allowed, unnamable = [], [], []
        for tool in connection.tools:
            full = mcp_tool_name(spec.name, tool.name)
            if not API_TOOL_NAME_RE.match(full):
                unnamable.append(tool.name)
            elif not mcp_tool_allowed(spec.name, tool.name, self.allowed):
                not_allowed.append(full)
            else:
                entry = McpTool(full, spec.name, tool.name, tool_definition(full, tool))
                self.tools.append(entry)
                self._by_name[full] = (connection, entry)
                offered.append(full)
        self.log(
            "mcp_server", server=spec.name, type=spec.type, tools=offered, not_allowed=not_allowed, unnamable=unnamable
        )

    @property
    def _marker_entry(self) -> bytes:
        return f"{MARKER_ENV}={self._marker}".encode()

    # ------------------------------------------------------------------ the holding task

    async def _hold(self, connection: _Connection) -> None:
        try:
            async with self._session(connection) as session:
                await session.initialize()
                connection.tools = await _all_tools(session)
                connection.session = session
                connection.ready.set_result(None)
                await asyncio.Event().wait()  # until close() cancels this task
        except BaseException as problem:
            if not connection.ready.done():
                connection.ready.set_exception(_first_cause(problem))
            if not isinstance(problem, asyncio.CancelledError | Exception):
                raise
        finally:
            connection.session = None
            connection.finished.set()

    @contextlib.asynccontextmanager
    async def _session(self, connection: _Connection) -> AsyncIterator[ClientSession]:
        spec = connection.spec
        async with contextlib.AsyncExitStack() as stack:
            if spec.type == "http":
                client = await stack.enter_async_context(create_mcp_http_client(headers=dict(spec.headers)))
                streams = await stack.enter_async_context(streamable_http_client(spec.url, http_client=client))
            else:
                command, args = _launched(spec)
                parameters = StdioServerParameters(
                    command=command,
                    args=args,
                    env={**dict(spec.env), MARKER_ENV: self._marker},
                    cwd=self.workdir,
                )
                streams = await stack.enter_async_context(stdio_client(parameters, errlog=connection.stderr))
            yield await stack.enter_async_context(ClientSession(*streams))

    # ------------------------------------------------------------------ calls

    def offers(self, name: str) -> bool:
        return name in self._by_name

    def call(
        self, name: str, arguments: dict[str, object], *, limit_s: float, by_deadline: bool, max_chars: int
    ) -> ToolResult:
        """Call an offered tool; a failure of the server is an error result naming it, a call that
        outlives the run's deadline is RunTimeout."""
        connection, tool = self._by_name[name]
        session = connection.session
        if session is None or connection.finished.is_set():
            return ToolResult(f"Error: the MCP server '{tool.server}' has stopped{self._said(connection)}", True)
        future = asyncio.run_coroutine_threadsafe(session.call_tool(tool.tool, dict(arguments)), self._loop)
        try:
            result = future.result(timeout=limit_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            if by_deadline:
                raise RunTimeout(f"the run's time limit was reached while the MCP tool {name} was running") from None
            return ToolResult(
                f"Error: the MCP tool {name} did not answer within {limit_s:g} s; the call was cancelled", True
            )
        except Exception as problem:  # the server died, or answered with a protocol error
            return ToolResult(
                f"Error: the MCP server '{tool.server}' failed the call: {_describe(problem)}{self._said(connection)}",
                True,
            )
        except BaseException:  # an interrupt: the call is abandoned, close() stops the server
            future.cancel()
            raise
        return tool_result(result, max_chars)

    # ------------------------------------------------------------------ stop

    def close(self) -> None:
        """Stop every server and the event loop (a few seconds at most; see the module's doc)."""
        with interrupts_deferred():
            for connection in self._connections:
                if connection.holder is not None:
                    self._loop.call_soon_threadsafe(connection.holder.cancel)
            until = time.monotonic() + STOP_TIMEOUT_S
            for connection in self._connections:
                connection.finished.wait(max(until - time.monotonic(), 0.0))
            if self._thread.is_alive():
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(1.0)
            if not self._thread.is_alive():  # else a server's shutdown hung: the daemon thread is left
                self._loop.close()
            self._kill_leftovers()
            self._log_stderr()

    def _kill_leftovers(self) -> None:
        for group in self._groups:
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGKILL)
            release_session(group)
        kill_marked(self._marker_entry)

    def _log_stderr(self) -> None:
        for connection in self._connections:
            text = _read_text(connection.stderr, STDERR_LOG_LIMIT)
            connection.stderr.close()
            if text.strip():
                self.log("mcp_server_stderr", server=connection.spec.name, stderr=text)


def _launched(spec: McpServerSpec) -> tuple[str, list[str]]:
    """The server's command line behind mcp_launcher.py, which ties its life to bassi's MCP thread."""
    if not sys.executable:
        return spec.command, list(spec.args)
    return sys.executable, ["-I", "-S", str(LAUNCHER), str(os.getpid()), spec.command, *spec.args]


async def _all_tools(session: ClientSession) -> list[mcp_types.Tool]:
    """Every page of tools/list."""
    page = await session.list_tools()
    tools = list(page.tools)
    while page.next_cursor:
        page = await session.list_tools(params=mcp_types.PaginatedRequestParams(cursor=page.next_cursor))
        tools += page.tools
    return tools


def _first_cause(problem: BaseException) -> BaseException:
    """The first real error inside the task groups' exception groups."""
    while isinstance(problem, BaseExceptionGroup) and problem.exceptions:
        problem = problem.exceptions[0]
    return problem


def _describe(problem: BaseException) -> str:
    problem = _first_cause(problem)
    text = str(problem).strip().splitlines()[0] if str(problem).strip() else ""
    return f"{type(problem).__name__}: {text}" if text else type(problem).__name__


def _read_text(handle: TextIO, limit: int) -> str:
    try:
        handle.flush()
        handle.seek(0)
        return handle.read(limit)
    except (OSError, ValueError):
        return ""


_REFERENCE_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def _refuse_hidden(spec: McpServerSpec) -> McpServerSpec:
    """`spec`, unless it asks for a variable kept from the agent's commands (the API key, the queue
    and webhook URLs, the runner's tokens). A task file is text the agent can write and a queue
    item can name; resolving `${ANTHROPIC_API_KEY}` into a server the task starts would hand the
    key to a program of the agent's choosing."""
    texts = [spec.command, *spec.args, *(value for _, value in spec.env), spec.url, *(v for _, v in spec.headers)]
    for name in (match.group(1) for text in texts for match in _REFERENCE_RE.finditer(text)):
        if name in HIDDEN_FROM_COMMANDS:
            raise McpConfigError(
                f"MCP server '{spec.name}' uses ${{{name}}}, which bassi keeps from the agent's commands and "
                "so from the servers a task starts; give the server a variable of its own"
            )
    return spec
