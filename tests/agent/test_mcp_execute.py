"""`bassi execute` with MCP servers, as a user runs it: a task file with `mcp_servers`, a
`--mcp-config` file, the JSON result, the transcript, and a SIGTERM to a `bassi` process while
an MCP tool runs — after which no server process may be left."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.agent.mcp_helpers import FIXTURE, survivors
from tests.cli import bassi_process, check_result, run_cli
from tests.fakeapi import FakeMessagesAPI, text, tool_use

SECRET = "fixture-secret-value-8d41c2"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def task_file(workspace: Path, server_tag: str, *extra_args: str, tools: str = "") -> Path:
    args = json.dumps([str(FIXTURE), "--tag", server_tag, *extra_args])
    path = workspace / "calc.yaml"
    path.write_text(
        f"id: calc\nname: Calc\nprompt: add things\nlimits: {{timeout: 2m}}\n{tools}"
        f"mcp_servers:\n  calc:\n    command: {json.dumps(sys.executable)}\n    args: {args}\n"
        f"    env: {{FIXTURE_TAG: {server_tag}, FIXTURE_API_TOKEN: '${{FIXTURE_API_TOKEN}}'}}\n"
    )
    return path


def execute_ci(*args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli("execute", *args, "--ci")
    return code, check_result(out), err


def transcript(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(result["log_path"]).read_text().splitlines()]


def test_a_task_with_an_mcp_server_runs_and_logs_no_secret(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_API_TOKEN", SECRET)
    path = task_file(workspace, server_tag, "--echo-env", "FIXTURE_API_TOKEN")
    fake_api.enqueue(tool_use(("mcp__calc__add", {"a": 2, "b": 3})), text("5"))

    code, result, err = execute_ci(str(path))

    assert code == 0, err
    assert result["status"] == "success"
    events = transcript(result)
    start = next(e for e in events if e["event"] == "run_start")
    assert start["mcp_servers"] == ["calc"]
    server = next(e for e in events if e["event"] == "mcp_server")
    assert "mcp__calc__add" in server["tools"]
    stderr = next(e for e in events if e["event"] == "mcp_server_stderr")["stderr"]
    assert "FIXTURE_API_TOKEN=[REDACTED]" in stderr  # the server got it, the log did not
    log_text = Path(result["log_path"]).read_text()
    assert SECRET not in log_text and SECRET not in err and SECRET not in json.dumps(result)


def test_a_bad_definition_is_a_usage_error_in_the_result(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    path = workspace / "broken.yaml"
    path.write_text("id: broken\nprompt: p\nmcp_servers:\n  calc: {command: no-such-mcp-program-3f1}\n")
    code, result, _ = execute_ci(str(path))
    assert code == 2
    assert result["status"] == "usage_error"
    assert result["error"]["message"].startswith("MCP server 'calc': command 'no-such-mcp-program-3f1' was not found")
    assert fake_api.requests == []


def test_a_task_file_with_a_bad_server_names_the_field(workspace: Path) -> None:
    path = workspace / "broken.yaml"
    path.write_text("id: broken\nprompt: p\nmcp_servers:\n  calc: {comand: x}\n")
    code, result, _ = execute_ci(str(path))
    assert code == 2
    assert result["error"]["message"] == (
        f"{path}: unknown field 'comand' in 'mcp_servers.calc' (did you mean 'command'?)"
    )


def test_mcp_config_adds_servers_and_the_task_wins_a_clash(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_API_TOKEN", "x")
    path = task_file(workspace, server_tag, tools="tools: [mcp__calc__add, mcp__extra__add]\n")
    config = {
        "mcpServers": {
            "calc": {"command": "no-such-program-for-calc"},  # the task's calc is used instead
            "extra": {
                "type": "stdio",
                "command": sys.executable,
                "args": [str(FIXTURE), "--name", "extra", "--tag", server_tag],
            },
        }
    }
    (workspace / ".mcp.json").write_text(json.dumps(config))
    fake_api.enqueue(tool_use(("mcp__calc__add", {"a": 1, "b": 2}), ("mcp__extra__add", {"a": 3, "b": 4})), text("ok"))

    code, _, err = execute_ci(str(path), "--mcp-config", ".mcp.json")

    assert code == 0, err
    assert "the task defines the MCP server 'calc' itself" in err
    tools = [tool["name"] for tool in fake_api.requests[0].body["tools"]]
    assert tools == ["mcp__calc__add", "mcp__extra__add"]
    answers = [block["content"][0]["text"] for block in fake_api.requests[1].body["messages"][-1]["content"]]
    assert answers == ["3", "7"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid JSON"),
        ('{"servers": {}}', 'expected a JSON object with an "mcpServers" object'),
        ('{"mcpServers": {"Bad Name": {"command": "x"}}}', "field 'mcpServers': expected a server name"),
        ('{"mcpServers": {"web": {"type": "http"}}}', "field 'mcpServers.web': missing required field 'url'"),
    ],
)
def test_a_bad_mcp_config_is_a_usage_error_naming_the_file(workspace: Path, content: str, message: str) -> None:
    (workspace / "task.yaml").write_text("id: t\nprompt: p\n")
    (workspace / "bad.mcp.json").write_text(content)
    code, result, _ = execute_ci("task.yaml", "--mcp-config", "bad.mcp.json")
    assert code == 2
    assert result["error"]["message"].startswith("bad.mcp.json: ")
    assert message in result["error"]["message"]


def test_a_missing_mcp_config_is_a_usage_error(workspace: Path) -> None:
    (workspace / "task.yaml").write_text("id: t\nprompt: p\n")
    code, result, _ = execute_ci("task.yaml", "--mcp-config", "nowhere.json")
    assert code == 2
    assert "nowhere.json: cannot read the MCP configuration" in result["error"]["message"]


def test_tools_option_accepts_mcp_names(workspace: Path) -> None:
    (workspace / "task.yaml").write_text("id: t\nprompt: p\n")
    code, result, _ = execute_ci("task.yaml", "--tools", "bash,mcp__nope__x,curl")
    assert code == 2
    assert result["error"]["message"].startswith("--tools: unknown tool 'curl'")


def test_execute_help_documents_mcp_config() -> None:
    code, out, _ = run_cli("execute", "--help")
    assert code == 0
    assert "--mcp-config" in out and ".mcp.json" in out


def wait_for_event(log_dir: Path, kind: str, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for log in log_dir.glob("**/*.jsonl"):
            if f'"event": "{kind}"' in log.read_text():
                return
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event within {seconds}s")


@pytest.mark.slow
def test_sigterm_while_an_mcp_tool_runs_leaves_no_server(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_API_TOKEN", "x")
    path = task_file(workspace, server_tag, "--child", "--hang-on-exit")
    fake_api.enqueue(tool_use(("mcp__calc__sleep", {"seconds": 60})))
    child = bassi_process("execute", str(path), "--ci", cwd=workspace)
    wait_for_event(isolated_home / "logs", "tool_call")
    assert survivors(server_tag)  # the server and its child are there now
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert check_result(out)["status"] == "interrupted"
    assert survivors(server_tag) == []


@pytest.mark.slow
def test_sigkill_of_bassi_leaves_no_server(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_API_TOKEN", "x")
    path = task_file(workspace, server_tag, "--hang-on-exit")  # ignores SIGTERM and the end of its input
    fake_api.enqueue(tool_use(("mcp__calc__sleep", {"seconds": 60})))
    child = bassi_process("execute", str(path), "--ci", cwd=workspace)
    wait_for_event(isolated_home / "logs", "tool_call")
    assert survivors(server_tag)
    child.kill()
    child.communicate(timeout=30)
    end = time.monotonic() + 5
    while survivors(server_tag) and time.monotonic() < end:
        time.sleep(0.05)
    assert survivors(server_tag) == []  # the kernel killed it with bassi's MCP thread (PR_SET_PDEATHSIG)
