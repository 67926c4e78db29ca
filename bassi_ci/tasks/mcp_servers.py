"""The MCP servers of a task (`mcp_servers`) and of a `.mcp.json` file, as frozen records.

The shape is Claude Code's `mcpServers`: `{name: {command, args, env}}` for a program that
speaks MCP on stdin/stdout (`type: stdio` may be written out), `{name: {type: http, url,
headers}}` for a Streamable HTTP endpoint. The JSON Schema (task.schema.json) has already
checked the shape when these functions run.

`${VAR}` and `${VAR:-default}` in the command, args, env values, url and header values name
variables of the runner's environment. They stay unresolved in the task (so no value of the
environment is ever stored, listed or logged) and are resolved by `resolved()` when a run
starts; a variable that is not set and has no default is a usage error naming the server,
the field and the variable.

Tool names: the model sees a server's tool `t` as `mcp__<server>__<t>`, and a task's `tools`
allow-list may name `mcp__<server>` (all its tools) or `mcp__<server>__<t>`. Server names are
lower-case letters, digits, hyphens and single inner underscores, so the first `__` after
`mcp__` always ends the server's name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from bassi_ci.errors import UsageError

MCP_PREFIX = "mcp__"
SERVER_NAME_RE = re.compile(r"\A[a-z0-9-]+(_[a-z0-9-]+)*\Z")
SERVER_NAME_MAX = 32
# An allow-list entry for MCP tools: mcp__<server> or mcp__<server>__<tool>.
MCP_ALLOW_RE = re.compile(r"\Amcp__[a-z0-9-]+(_[a-z0-9-]+)*(__[A-Za-z0-9_-]+)?\Z")
_REFERENCE_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class McpConfigError(UsageError):
    """An MCP server definition that cannot be used as written (exit 2)."""


@dataclass(frozen=True)
class McpServerSpec:
    """One server as a task or `.mcp.json` defines it, `${VAR}` references unresolved."""

    name: str
    type: str  # "stdio" or "http"
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The definition as a task file holds it (the inverse of server_from_dict)."""
        if self.type == "http":
            data: dict[str, Any] = {"type": "http", "url": self.url}
            if self.headers:
                data["headers"] = dict(self.headers)
            return data
        data = {"command": self.command}
        if self.args:
            data["args"] = list(self.args)
        if self.env:
            data["env"] = dict(self.env)
        return data


def server_from_dict(name: str, data: Mapping[str, Any]) -> McpServerSpec:
    """A server from its schema-checked definition."""
    if data.get("type") == "http":
        return McpServerSpec(name, "http", url=data["url"], headers=tuple(dict(data.get("headers", {})).items()))
    return McpServerSpec(
        name,
        "stdio",
        command=data["command"],
        args=tuple(data.get("args", ())),
        env=tuple(dict(data.get("env", {})).items()),
    )


def servers_from_dict(data: Mapping[str, Any] | None) -> tuple[McpServerSpec, ...]:
    """The servers of a schema-checked `mcp_servers` / `mcpServers` mapping, in file order."""
    return tuple(server_from_dict(name, definition) for name, definition in (data or {}).items())


def servers_to_dict(servers: Iterable[McpServerSpec]) -> dict[str, Any]:
    return {server.name: server.to_dict() for server in servers}


def merge_servers(
    task_servers: tuple[McpServerSpec, ...], extra: tuple[McpServerSpec, ...]
) -> tuple[tuple[McpServerSpec, ...], list[str]]:
    """The task's servers plus those of a `.mcp.json`; on a name clash the task's definition
    wins (it is the more specific one). Returns the servers and the names that clashed."""
    own = {server.name for server in task_servers}
    clashes = [server.name for server in extra if server.name in own]
    return task_servers + tuple(server for server in extra if server.name not in own), clashes


def resolved(server: McpServerSpec, environ: Mapping[str, str]) -> McpServerSpec:
    """The server with its `${VAR}` references replaced from `environ`; McpConfigError naming
    the server, field and variable when one is missing, or when the url is not http(s)."""

    def fill(field: str, text: str) -> str:
        return _expand(text, environ, server.name, field)

    done = replace(
        server,
        command=fill("command", server.command),
        args=tuple(fill(f"args[{i}]", arg) for i, arg in enumerate(server.args)),
        env=tuple((key, fill(f"env.{key}", value)) for key, value in server.env),
        url=fill("url", server.url),
        headers=tuple((key, fill(f"headers.{key}", value)) for key, value in server.headers),
    )
    if done.type == "http":
        _check_url(done)
    elif not done.command.strip():
        raise McpConfigError(f"MCP server '{server.name}': field 'command' is empty; name the program to start")
    return done


def _expand(text: str, environ: Mapping[str, str], server: str, field: str) -> str:
    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise McpConfigError(
            f"MCP server '{server}': field '{field}' uses ${{{name}}}, which is not set in the environment; "
            f"set it, or write ${{{name}:-default}}"
        )

    return _REFERENCE_RE.sub(value, text)


def _check_url(server: McpServerSpec) -> None:
    parts = urlsplit(server.url)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The url may hold a token from the environment: name the field, never print the value.
        raise McpConfigError(
            f"MCP server '{server.name}': field 'url' is not an http:// or https:// address with a host; "
            "write e.g. https://mcp.example.com/mcp"
        )


def mcp_tool_name(server: str, tool: str) -> str:
    """The name the model sees for a server's tool."""
    return f"{MCP_PREFIX}{server}__{tool}"


def mcp_tool_allowed(server: str, tool: str, allow_list: tuple[str, ...]) -> bool:
    """Whether a server's tool is allowed by a task's `tools` list.

    An allow-list that names no MCP entry restricts only the built-in tools: every tool of the
    task's servers is allowed (declaring a server is asking for its tools). Once it names one
    (`mcp__<server>` or `mcp__<server>__<tool>`), only the MCP tools it names are allowed.
    """
    if not any(entry.startswith(MCP_PREFIX) for entry in allow_list):
        return True
    return f"{MCP_PREFIX}{server}" in allow_list or mcp_tool_name(server, tool) in allow_list
