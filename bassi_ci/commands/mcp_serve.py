"""`bassi mcp serve`: the task queue as an MCP server on stdio (bassi_ci/queue/mcp_server.py).

Register it with Claude Code: `claude mcp add bassi -- bassi mcp serve`.
"""

from __future__ import annotations

from pathlib import Path

import click

from bassi_ci.commands.queue_url import queue_url_option, store_opener
from bassi_ci.errors import UsageError
from bassi_ci.procguard import hide_from_same_user
from bassi_ci.queue.mcp_server import DEFAULT_MCP_LEASE_S
from bassi_ci.queue.mcp_server import serve as serve_queue
from bassi_ci.queue.worker import worker_name
from bassi_ci.tasks.model import TIMEOUT_RULE, duration_option, timeout_seconds


@click.command(name="serve")
@click.option(
    "--lease", help="How long an item taken with get_next_task stays this server's (default 1h; e.g. 30m, 2h)."
)
@queue_url_option
def serve(lease: str | None, queue_url: str | None) -> None:
    """Serve the task queue over MCP on stdin/stdout (for agents).

    Tools: add_task, get_next_task, complete_task, list_tasks, fail_task. Items taken here are
    leased to this server; one it does not finish within the lease goes back to the queue.
    """
    # The queue URL (its password) stays in this long-lived process's /proc/<pid>/environ, and its
    # client is often an agent with a shell as the same user: not the agent's to read.
    hide_from_same_user()
    open_store = store_opener(queue_url)
    open_store().close()  # a broken queue is one line and its exit code now, not a failure in every tool call
    serve_queue(open_store, f"mcp:{worker_name()}", _lease_seconds(lease), Path.cwd())


def _lease_seconds(text: str | None) -> float:
    value = duration_option(text.strip() if text is not None else None)
    if value is None:
        return DEFAULT_MCP_LEASE_S
    try:
        return float(timeout_seconds(value))
    except ValueError:
        raise UsageError(f"--lease {text!r}: expected {TIMEOUT_RULE}") from None
