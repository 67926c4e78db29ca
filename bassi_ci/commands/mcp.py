"""`bassi mcp`: bassi's Model Context Protocol servers. A lazy group, so that only `bassi mcp
serve` itself loads the `mcp` SDK."""

from __future__ import annotations

import click

from bassi_ci.commands.lazy import LazyCommand, LazyGroup

COMMANDS = {
    "serve": LazyCommand(
        "bassi_ci.commands.mcp_serve:serve", "Serve the task queue over MCP on stdin/stdout (for agents)."
    ),
}


@click.group(name="mcp", cls=LazyGroup, lazy_commands=COMMANDS)
def mcp() -> None:
    """Model Context Protocol servers of bassi."""
