"""`mcp_servers` in task files: the schema's errors, the record's round trip through the store's
format, `${VAR}` resolution, the allow-list rule and `--tools` names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from bassi_ci.errors import TaskFileError, UsageError
from bassi_ci.tasks.loader import load_mcp_config, parse_task_text
from bassi_ci.tasks.mcp_servers import (
    McpConfigError,
    McpServerSpec,
    mcp_tool_allowed,
    merge_servers,
    resolved,
)
from bassi_ci.tasks.model import parse_tools
from bassi_ci.tasks.schema import task_schema

GOOD = """\
id: with-mcp
prompt: p
tools: [bash, mcp__calc, mcp__web__search]
mcp_servers:
  calc:
    command: npx
    args: [-y, "@acme/calc-mcp"]
    env: {CALC_TOKEN: "${CALC_TOKEN}", MODE: fast}
  web:
    type: http
    url: https://mcp.example.com/mcp
    headers: {Authorization: "Bearer ${WEB_TOKEN}"}
  local_files:
    type: stdio
    command: ./bin/server
"""


def load(text: str) -> object:
    return parse_task_text(text, Path("task.yaml"))


def test_a_task_with_servers_loads_and_round_trips() -> None:
    task = parse_task_text(GOOD, Path("task.yaml"))
    calc, web, local = task.mcp_servers
    assert calc == McpServerSpec(
        "calc",
        "stdio",
        command="npx",
        args=("-y", "@acme/calc-mcp"),
        env=(("CALC_TOKEN", "${CALC_TOKEN}"), ("MODE", "fast")),
    )
    assert web == McpServerSpec(
        "web", "http", url="https://mcp.example.com/mcp", headers=(("Authorization", "Bearer ${WEB_TOKEN}"),)
    )
    assert (local.type, local.command) == ("stdio", "./bin/server")
    record = task.to_dict()
    assert record["mcp_servers"]["web"] == {
        "type": "http",
        "url": "https://mcp.example.com/mcp",
        "headers": {"Authorization": "Bearer ${WEB_TOKEN}"},
    }
    Draft202012Validator(task_schema()).validate(record)  # what the store writes is a valid task again
    again = parse_task_text(yaml.safe_dump(record, sort_keys=False), Path("again.yaml"))
    assert again.mcp_servers == task.mcp_servers
    assert "mcp_servers" not in parse_task_text("id: plain\nprompt: p\n", Path("t.yaml")).to_dict()


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        ("  Calc: {command: x}", "field 'mcp_servers': expected a server name of lower-case letters"),
        ("  a__b: {command: x}", "expected a server name"),
        ("  _a: {command: x}", "expected a server name"),
        ("  calc: {args: [x]}", "field 'mcp_servers.calc': missing required field 'command'"),
        ("  calc: {comand: x}", "unknown field 'comand' in 'mcp_servers.calc' (did you mean 'command'?)"),
        ("  calc: {command: ''}", "field 'mcp_servers.calc.command': expected a non-empty text"),
        (
            "  calc: {type: sse, url: 'http://x'}",
            "field 'mcp_servers.calc.type': expected one of stdio, http, got 'sse'",
        ),
        ("  calc: {type: http}", "field 'mcp_servers.calc': missing required field 'url'"),
        (
            "  calc: {type: http, url: 'ftp://x'}",
            "field 'mcp_servers.calc.url': expected an http:// or https:// address",
        ),
        ("  calc: {type: http, url: 'http://x', command: y}", "unknown field 'command' in 'mcp_servers.calc'"),
        ("  calc: {command: x, env: {A: 1}}", "field 'mcp_servers.calc.env.A': expected string, got 1"),
        ("  calc: {command: x, env: {1A: b}}", "field 'mcp_servers.calc.env'"),
        ("  calc: {type: http, url: 'http://x', headers: {'Bad Name': v}}", "field 'mcp_servers.calc.headers'"),
        ("  calc: {command: x, args: x}", "field 'mcp_servers.calc.args': expected array"),
    ],
)
def test_bad_servers_name_the_file_and_field(servers: str, message: str) -> None:
    with pytest.raises(TaskFileError) as caught:
        load(f"id: t\nprompt: p\nmcp_servers:\n{servers}\n")
    assert str(caught.value).startswith("task.yaml: ")
    assert message in str(caught.value)


def test_a_bad_tools_entry_lists_the_mcp_forms() -> None:
    with pytest.raises(TaskFileError, match=r"expected one of bash, .*mcp__<server>__<tool>, got 'mcp_calc'"):
        load("id: t\nprompt: p\ntools: [mcp_calc]\n")


def test_resolved_fills_variables_and_defaults() -> None:
    server = McpServerSpec(
        "calc",
        "stdio",
        command="${BIN:-npx}",
        args=("--root", "${ROOT}"),
        env=(("TOKEN", "x-${TOKEN}-y"), ("PLAIN", "$HOME and ${ not a reference")),
    )
    done = resolved(server, {"ROOT": "/srv", "TOKEN": "t0k"})
    assert (done.command, done.args) == ("npx", ("--root", "/srv"))
    assert dict(done.env) == {"TOKEN": "x-t0k-y", "PLAIN": "$HOME and ${ not a reference"}


def test_resolved_names_a_missing_variable_and_never_a_value() -> None:
    server = McpServerSpec("web", "http", url="https://x/mcp", headers=(("Authorization", "Bearer ${WEB_TOKEN}"),))
    with pytest.raises(McpConfigError) as caught:
        resolved(server, {})
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        "MCP server 'web': field 'headers.Authorization' uses ${WEB_TOKEN}, which is not set in the environment; "
        "set it, or write ${WEB_TOKEN:-default}"
    )


@pytest.mark.parametrize("url", ["${URL}", "https://", "http://:80/x", "file:///etc/passwd", "http://host:port/"])
def test_resolved_refuses_a_url_that_is_no_http_address(url: str) -> None:
    server = McpServerSpec("web", "http", url=url)
    with pytest.raises(McpConfigError, match="field 'url' is not an http:// or https:// address") as caught:
        resolved(server, {"URL": "not-a-url-secret"})
    assert "not-a-url-secret" not in str(caught.value)  # the url may hold a token: never printed


def test_allow_list_rule() -> None:
    builtins_only = ("bash", "str_replace_based_edit_tool")
    assert mcp_tool_allowed("calc", "add", builtins_only)  # no MCP entry: every server tool
    assert mcp_tool_allowed("calc", "add", ("bash", "mcp__calc"))
    assert mcp_tool_allowed("calc", "add", ("mcp__calc__add",))
    assert not mcp_tool_allowed("calc", "sub", ("mcp__calc__add",))
    assert not mcp_tool_allowed("web", "add", ("mcp__calc",))
    assert not mcp_tool_allowed("calc_x", "add", ("mcp__calc",))  # a prefix is not the server


def test_merge_keeps_the_tasks_definition_on_a_clash() -> None:
    mine = (McpServerSpec("calc", "stdio", command="mine"),)
    theirs = (McpServerSpec("calc", "stdio", command="theirs"), McpServerSpec("web", "http", url="http://x"))
    servers, clashes = merge_servers(mine, theirs)
    assert [(s.name, s.command or s.url) for s in servers] == [("calc", "mine"), ("web", "http://x")]
    assert clashes == ["calc"]


def test_tools_option_takes_mcp_names() -> None:
    assert parse_tools("bash,mcp__calc,mcp__calc__add,mcp__calc") == ("bash", "mcp__calc", "mcp__calc__add")
    with pytest.raises(UsageError, match="unknown tool 'mcp__Calc'"):
        parse_tools("mcp__Calc")


def test_load_mcp_config_reads_claude_codes_format(tmp_path: Path) -> None:
    path = tmp_path / ".mcp.json"
    path.write_text('{"mcpServers": {"calc": {"type": "stdio", "command": "calc-mcp", "args": ["-v"]}}, "other": 1}')
    assert load_mcp_config(path) == (McpServerSpec("calc", "stdio", command="calc-mcp", args=("-v",)),)
