"""The queue as a Model Context Protocol server (`bassi mcp serve`, stdio, the official `mcp` SDK).

An agent (Claude Code, Claude Desktop, any MCP client) adds work, takes the next item, and
completes or fails it. The server process is one worker: items it hands out are leased to it
(for `lease_s`, long, as an agent does not renew) and only it completes or fails them.

A failure the caller can fix (an unknown id, an item in the wrong state, a bad argument) is a
tool error (`isError: true`) with bassi's one-line message, never a crash. stdout carries only
protocol messages: the SDK points fd 1 at stderr while it serves, and its logs go to stderr.

Each call opens the queue and closes it again: tool calls may run on other threads than the
one that opened a connection, and opening costs about a millisecond.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from bassi_ci import __version__
from bassi_ci.errors import BassiError
from bassi_ci.queue.model import DEFAULT_MAX_ATTEMPTS, NewItem, QueueItem
from bassi_ci.queue.store import QueueStore
from bassi_ci.queue.worker import task_reference
from bassi_ci.runs.redact import Redactor

DEFAULT_MCP_LEASE_S = 3600.0
Status = Literal["pending", "running", "done", "failed", "cancelled"]

INSTRUCTIONS = (
    "A task queue shared with bassi workers. Take work with get_next_task, do it, then call "
    "complete_task with a short result, or fail_task with the reason. add_task queues new work; "
    "list_tasks shows the queue."
)


# A flooded queue must not flood the client's context: list_tasks shows this many unless asked.
LIST_LIMIT = 100
LIST_LIMIT_MAX = 1_000


def build_server(open_store: Callable[[], QueueStore], worker: str, lease_s: float, cwd: Path) -> MCPServer:
    """The MCP server with the five queue tools, for one worker name."""
    server = MCPServer(name="bassi", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")
    redactor = Redactor.from_environ()  # what goes back to the client, as every output of bassi

    @contextmanager
    def queue() -> Iterator[QueueStore]:
        try:
            store = open_store()
            try:
                yield store
            finally:
                store.close()
        except BassiError as problem:
            raise ToolError(redactor.text(str(problem))) from None

    def shown(item: QueueItem, with_result: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = redactor.data(item.as_dict(with_result))
        return data

    @server.tool(description="Add an item to the queue; returns the new item.")
    def add_task(
        name: Annotated[str, Field(description="A short name for the item.", min_length=1)],
        prompt: Annotated[str | None, Field(description="What the agent should do.")] = None,
        task: Annotated[str | None, Field(description="A bassi task id to run with this prompt and vars.")] = None,
        priority: Annotated[int, Field(description="Higher runs first; equal priority: oldest first.")] = 0,
        vars: Annotated[dict[str, str] | None, Field(description="Template variables of the task.")] = None,
        max_attempts: Annotated[int, Field(ge=1, description="Claims at most.")] = DEFAULT_MAX_ATTEMPTS,
    ) -> dict[str, Any]:
        with queue() as store:
            reference = task_reference(task, cwd) if task is not None else None
            new = NewItem(name, prompt, reference, priority, dict(vars or {}), max_attempts)
            return shown(store.add(new))

    @server.tool(description="Take the next item (highest priority, then oldest); status 'idle' when none is pending.")
    def get_next_task() -> dict[str, Any]:
        with queue() as store:
            item = store.claim(worker, lease_s)
        return shown(item) if item is not None else {"status": "idle"}

    @server.tool(description="Mark an item you took with get_next_task as done, with its result.")
    def complete_task(
        id: Annotated[int, Field(description="The item's id.")],
        result: Annotated[str, Field(description="What was done: a short summary or the answer.")],
    ) -> dict[str, Any]:
        with queue() as store:
            return shown(store.complete(id, worker, result))

    @server.tool(description="Mark an item you took with get_next_task as failed, with the reason.")
    def fail_task(
        id: Annotated[int, Field(description="The item's id.")],
        error: Annotated[str, Field(description="Why it could not be done.", min_length=1)],
    ) -> dict[str, Any]:
        with queue() as store:
            return shown(store.fail(id, worker, error))

    @server.tool(
        description="List queue items, oldest first, optionally only those in one state; at most `limit` "
        "of them (`total` says how many there are)."
    )
    def list_tasks(
        status: Annotated[Status | None, Field(description="Only items in this state.")] = None,
        limit: Annotated[int, Field(description="Items at most.", ge=1, le=LIST_LIMIT_MAX)] = LIST_LIMIT,
    ) -> dict[str, Any]:
        with queue() as store:
            items = [shown(item, with_result=False) for item in store.list(status, limit)]
            return {"items": items, "total": store.count(status)}

    return server


def serve(open_store: Callable[[], QueueStore], worker: str, lease_s: float, cwd: Path) -> None:
    """Serve on stdin/stdout until the client closes the connection."""
    build_server(open_store, worker, lease_s, cwd).run("stdio")
