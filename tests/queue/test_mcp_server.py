"""`bassi mcp serve` driven by a real MCP client: the `mcp` SDK's stdio client spawns the server as
a user's agent would, lists its tools and walks items through the queue, error cases included.
Everything the server wrote on stdout is kept (through `tee`) and must be JSON-RPC messages only.
Every test runs on both queue backends (`queue_backend`: SQLite, then a real PostgreSQL)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from bassi_ci.queue.model import NewItem
from bassi_ci.queue.store import open_store
from tests.cli import ROOT

pytestmark = [
    pytest.mark.slow,  # each test starts `bassi mcp serve`, which loads the mcp SDK (~1.5 s)
    pytest.mark.usefixtures("queue_backend"),
]

TOOLS = {"add_task", "get_next_task", "complete_task", "fail_task", "list_tasks"}
Scenario = Callable[[ClientSession], Awaitable[None]]


def serve_with(scenario: Scenario, tmp_path: Path, extra_env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run `scenario` against a spawned `bassi mcp serve`; the JSON-RPC messages it wrote on stdout."""
    stdout_copy = tmp_path / "server-stdout.jsonl"
    command = f"{shlex.quote(sys.executable)} -m bassi_ci mcp serve | tee {shlex.quote(str(stdout_copy))}"
    passed = ("HOME", "BASSI_HOME", "PATH", "BASSI_QUEUE_URL")  # the URL: the PostgreSQL queue (queue_backend)
    env = {key: value for key, value in os.environ.items() if key in passed}
    env = {**env, "PYTHONPATH": str(ROOT), **(extra_env or {})}
    params = StdioServerParameters(command="bash", args=["-o", "pipefail", "-c", command], env=env, cwd=tmp_path)

    async def main() -> None:
        with (tmp_path / "server-stderr.txt").open("w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                await scenario(session)

    anyio.run(main)
    # Messages end at "\n" alone (the stdio transport's rule): splitlines() would also cut at a
    # U+2028 that a JSON string may hold unescaped.
    lines = stdout_copy.read_text(encoding="utf-8").removesuffix("\n").split("\n")
    messages = [json.loads(line) for line in lines]  # a stray print would not parse
    assert messages and all(message.get("jsonrpc") == "2.0" for message in messages)
    for secret in (extra_env or {}).values():
        assert secret not in stdout_copy.read_text(encoding="utf-8")
    return messages


async def call(session: ClientSession, tool: str, **arguments: Any) -> tuple[bool, Any]:
    """(is_error, structured result or the error text)."""
    result = await session.call_tool(tool, arguments)
    if result.is_error:
        return True, " ".join(getattr(block, "text", "") for block in result.content)
    return False, result.structured_content


def test_tools_are_listed_with_input_schemas(tmp_path: Path) -> None:
    found: dict[str, dict[str, Any]] = {}

    async def scenario(session: ClientSession) -> None:
        listing = await session.list_tools()
        found.update({tool.name: tool.input_schema for tool in listing.tools})

    serve_with(scenario, tmp_path)
    assert set(found) == TOOLS
    assert found["add_task"]["required"] == ["name"]
    assert set(found["add_task"]["properties"]) == {"name", "prompt", "task", "priority", "vars", "max_attempts"}
    assert found["complete_task"]["required"] == ["id", "result"]
    assert found["complete_task"]["properties"]["id"]["type"] == "integer"
    assert found["fail_task"]["required"] == ["id", "error"]
    status = json.dumps(found["list_tasks"]["properties"]["status"])
    assert found["list_tasks"]["properties"]["limit"]["maximum"] == 1000
    assert all(word in status for word in ("pending", "running", "done", "failed", "cancelled"))


def test_items_walk_through_the_queue(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    async def scenario(session: ClientSession) -> None:
        seen["empty"] = await call(session, "get_next_task")
        seen["a"] = await call(session, "add_task", name="a", prompt="first")
        seen["b"] = await call(session, "add_task", name="b", prompt="second", priority=5, vars={"k": "v"})
        seen["next1"] = await call(session, "get_next_task")
        seen["done"] = await call(session, "complete_task", id=seen["next1"][1]["id"], result="all good")
        seen["again"] = await call(session, "complete_task", id=seen["next1"][1]["id"], result="all good")
        seen["next2"] = await call(session, "get_next_task")
        seen["failed"] = await call(session, "fail_task", id=seen["next2"][1]["id"], error="could not")
        seen["list"] = await call(session, "list_tasks")
        seen["list_done"] = await call(session, "list_tasks", status="done")

    serve_with(scenario, tmp_path)
    assert seen["empty"] == (False, {"status": "idle"})
    assert seen["next1"][1]["name"] == "b" and seen["next1"][1]["status"] == "running"
    assert seen["next1"][1]["vars"] == {"k": "v"} and seen["next1"][1]["worker"].startswith("mcp:")
    assert seen["done"][1]["status"] == "done" and seen["done"][1]["result"] == "all good"
    assert seen["again"] == seen["done"]  # completing twice is a no-op
    assert seen["failed"][1]["status"] == "failed" and seen["failed"][1]["error"] == "could not"
    assert [(i["name"], i["status"]) for i in seen["list"][1]["items"]] == [("a", "failed"), ("b", "done")]
    assert [i["name"] for i in seen["list_done"][1]["items"]] == ["b"]
    assert (seen["list"][1]["total"], seen["list_done"][1]["total"]) == (2, 1)
    store = open_store()  # what the server wrote is the queue every other command sees
    try:
        assert store.get(2).result == "all good"
    finally:
        store.close()


def test_a_flooded_queue_is_listed_a_page_at_a_time(tmp_path: Path) -> None:
    store = open_store()
    try:
        for n in range(150):
            store.add(NewItem(f"flood {n}", "p"))
    finally:
        store.close()
    seen: dict[str, tuple[bool, Any]] = {}

    async def scenario(session: ClientSession) -> None:
        seen["default"] = await call(session, "list_tasks")
        seen["three"] = await call(session, "list_tasks", limit=3, status="pending")
        seen["too_many"] = await call(session, "list_tasks", limit=1001)
        seen["none"] = await call(session, "list_tasks", limit=0)

    serve_with(scenario, tmp_path)
    default, three = seen["default"][1], seen["three"][1]
    assert (len(default["items"]), default["total"]) == (100, 150)
    assert [item["name"] for item in three["items"]] == ["flood 0", "flood 1", "flood 2"] and three["total"] == 150
    assert seen["too_many"][0] and seen["none"][0], "limits outside 1..1000 are tool errors"


def test_wrong_ids_states_and_arguments_are_tool_errors(tmp_path: Path) -> None:
    store = open_store()
    try:
        pending = store.add(NewItem("pending", "p")).id
        theirs = store.add(NewItem("theirs", "p", priority=-1)).id
        store.claim("someone-else", 600)
        cancelled = store.add(NewItem("cancelled", "p", priority=-2)).id
        store.cancel(cancelled)
    finally:
        store.close()
    seen: dict[str, tuple[bool, Any]] = {}

    async def scenario(session: ClientSession) -> None:
        seen["unknown"] = await call(session, "complete_task", id=999, result="x")
        seen["unknown_fail"] = await call(session, "fail_task", id=999, error="x")
        seen["not_claimed"] = await call(session, "complete_task", id=theirs, result="x")
        seen["someone_elses"] = await call(session, "complete_task", id=pending, result="x")
        seen["cancelled"] = await call(session, "fail_task", id=cancelled, error="x")
        seen["bad_status"] = await call(session, "list_tasks", status="bogus")
        seen["bad_id_type"] = await call(session, "complete_task", id="seven", result="x")
        seen["no_prompt"] = await call(session, "add_task", name="x")
        seen["bad_task"] = await call(session, "add_task", name="x", task="no-such-task")
        seen["still_works"] = await call(session, "list_tasks")

    serve_with(scenario, tmp_path)
    # The SDK puts "Error executing tool NAME: " before bassi's message; a crash would carry no message.
    assert seen["unknown"][0] and seen["unknown"][1].endswith(": no queue item 999 (see 'bassi queue list')")
    assert seen["unknown_fail"][0] and "no queue item 999" in seen["unknown_fail"][1]
    assert seen["not_claimed"][0] and "pending (not claimed)" in seen["not_claimed"][1]
    assert seen["someone_elses"][0] and "running under worker someone-else" in seen["someone_elses"][1]
    assert seen["cancelled"][0] and "cancelled" in seen["cancelled"][1]
    for name in ("bad_status", "bad_id_type"):
        assert seen[name][0], name
    assert seen["no_prompt"][0]
    assert seen["no_prompt"][1].endswith("a queue item needs --prompt TEXT, or --task ID whose prompt it runs")
    assert seen["bad_task"][0] and "no task named 'no-such-task'" in seen["bad_task"][1]
    assert not seen["still_works"][0] and len(seen["still_works"][1]["items"]) == 3


def test_server_ends_cleanly_when_its_client_goes(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bassi_ci", "mcp", "serve"],
        input="",
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (0, "")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("lease", ["0", "soon"])
def test_bad_lease_is_a_usage_error(lease: str) -> None:
    from tests.cli import run_cli

    code, out, err = run_cli("mcp", "serve", "--lease", lease)
    assert code == 2 and out == "" and f"--lease {lease!r}" in err


def test_answers_carry_no_secret_of_the_servers_environment(tmp_path: Path) -> None:
    secret = "s3cr3t-value-of-the-server"
    seen: dict[str, Any] = {}

    async def scenario(session: ClientSession) -> None:
        seen["added"] = await call(session, "add_task", name="n", prompt=f"use {secret}")
        seen["next"] = await call(session, "get_next_task")
        seen["failed"] = await call(session, "fail_task", id=1, error=f"{secret} did not work")

    serve_with(scenario, tmp_path, extra_env={"DEPLOY_TOKEN": secret})
    assert seen["added"][1]["prompt"] == "use [REDACTED]"
    assert seen["failed"][1]["error"] == "[REDACTED] did not work"
