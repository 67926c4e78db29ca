"""MCP servers in the agent loop, for real: the fixture server (written with the `mcp` SDK) runs
as a child process, the loop talks to the fake Messages API through the real anthropic SDK, and
after every kind of ending /proc is searched for anything the server left behind."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.agent.loop import AgentOutcome, NullObserver, run_agent
from bassi_ci.errors import ExitCode
from bassi_ci.tasks.mcp_servers import McpServerSpec
from tests.agent.helpers import RecordingObserver, make_request, tool_results, transport
from tests.agent.mcp_helpers import FIXTURE, survivors
from tests.fakeapi import FakeMessagesAPI, text, tool_use


def calc(server_tag: str, *extra: str, name: str = "calc") -> McpServerSpec:
    return McpServerSpec(
        name,
        "stdio",
        command=sys.executable,
        args=(str(FIXTURE), "--name", name, "--tag", server_tag, *extra),
        env=(("FIXTURE_TAG", server_tag),),
    )


def run_with(
    workspace: Path, *servers: McpServerSpec, observer: Any = None, events: list[Any] | None = None, **overrides: Any
) -> AgentOutcome:
    request = make_request(workspace, mcp_servers=servers, **overrides)

    def sink(kind: str, **fields: Any) -> None:
        if events is not None:
            events.append((kind, fields))

    return run_agent(request, transport(), observer or NullObserver(), sink)


def offered(fake_api: FakeMessagesAPI, turn: int = 0) -> dict[str, dict[str, Any]]:
    return {tool["name"]: tool for tool in fake_api.requests[turn].body["tools"]}


def test_the_model_calls_an_mcp_tool_and_gets_its_answer(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str
) -> None:
    fake_api.enqueue(tool_use(("mcp__calc__add", {"a": 2, "b": 40})), text("The sum is 42."))
    observer = RecordingObserver()
    events: list[Any] = []

    outcome = run_with(workspace, calc(server_tag), observer=observer, events=events)

    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    tools = offered(fake_api)
    assert list(tools)[:3] == ["bash", "str_replace_based_edit_tool", "ask_user"]  # built-ins first
    add = tools["mcp__calc__add"]
    assert add["description"] == "Add two whole numbers."
    assert add["input_schema"]["properties"].keys() == {"a", "b"}  # the server's schema, passed through
    assert add["input_schema"]["required"] == ["a", "b"]
    assert {"mcp__calc__picture", "mcp__calc__fail", "mcp__calc__sleep"} <= tools.keys()
    (result,) = tool_results(fake_api.requests[1].body)
    assert result["content"] == [{"type": "text", "text": "42"}] and "is_error" not in result
    assert observer.of("tool_result") == [("mcp__calc__add", "42", False)]
    kinds = dict(events)
    assert "mcp__calc__add" in kinds["mcp_server"]["tools"]
    assert "fixture server calc starting" in kinds["mcp_server_stderr"]["stderr"]  # its stderr reached the log


def test_allow_list_offers_only_the_named_mcp_tools_and_refuses_the_rest(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str
) -> None:
    fake_api.enqueue(
        tool_use(("mcp__calc__picture", {}), ("mcp__other__add", {"a": 1, "b": 1})),
        tool_use(("mcp__other__whoami", {})),
        text("done"),
    )
    outcome = run_with(
        workspace,
        calc(server_tag),
        calc(server_tag, name="other"),
        allowed_tools=("bash", "mcp__calc__add", "mcp__other"),
    )
    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    names = list(offered(fake_api))
    assert names[0] == "bash" and "str_replace_based_edit_tool" not in names
    assert "mcp__calc__add" in names and "mcp__calc__picture" not in names
    assert {"mcp__other__add", "mcp__other__whoami", "mcp__other__picture"} <= set(names)  # the whole server
    denied, allowed = tool_results(fake_api.requests[1].body)
    assert denied["is_error"] and "not allowed" in denied["content"]
    assert allowed["content"][0]["text"] == "2" and not allowed.get("is_error")
    assert [d["tool_name"] for d in outcome.permission_denials] == ["mcp__calc__picture"]
    assert not tool_results(fake_api.requests[2].body)[0].get("is_error")


def test_image_results_reach_the_model_as_image_blocks(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str
) -> None:
    fake_api.enqueue(tool_use(("mcp__calc__picture", {})), text("A pixel."))
    outcome = run_with(workspace, calc(server_tag))
    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    (block,) = tool_results(fake_api.requests[1].body)[0]["content"]
    assert block["type"] == "image"
    assert block["source"]["media_type"] == "image/png"
    assert base64.b64decode(block["source"]["data"]).startswith(b"\x89PNG\r\n\x1a\n")


def test_error_results_are_tool_errors(fake_api: FakeMessagesAPI, workspace: Path, server_tag: str) -> None:
    fake_api.enqueue(tool_use(("mcp__calc__fail", {"why": "no disk"})), text("It failed."))
    outcome = run_with(workspace, calc(server_tag))
    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    result = tool_results(fake_api.requests[1].body)[0]
    assert result["is_error"] is True
    assert "failed on purpose: no disk" in result["content"][0]["text"]


def test_a_server_dying_mid_run_is_a_tool_error_and_the_run_goes_on(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str
) -> None:
    fake_api.enqueue(
        tool_use(("mcp__calc__crash", {})),
        tool_use(("mcp__calc__add", {"a": 1, "b": 2})),
        text("The calculator is gone."),
    )
    outcome = run_with(workspace, calc(server_tag))
    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    for turn in (1, 2):
        result = tool_results(fake_api.requests[turn].body)[0]
        assert result["is_error"] is True
        assert "MCP server 'calc'" in str(result["content"])
    assert "crashing on request" in str(tool_results(fake_api.requests[2].body)[0]["content"])


def test_a_missing_command_is_a_usage_error_before_any_api_call(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    broken = McpServerSpec("search", "stdio", command="no-such-mcp-server-program")
    outcome = run_with(workspace, broken)
    assert outcome.exit_code is ExitCode.USAGE_ERROR
    assert "MCP server 'search'" in str(outcome.error) and "no-such-mcp-server-program" in str(outcome.error)
    assert fake_api.requests == []


def test_an_unset_variable_is_a_usage_error_naming_it(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIXTURE_SECRET_TOKEN", raising=False)
    server = McpServerSpec("calc", "stdio", command=sys.executable, env=(("TOKEN", "${FIXTURE_SECRET_TOKEN}"),))
    outcome = run_with(workspace, server)
    assert outcome.exit_code is ExitCode.USAGE_ERROR
    assert str(outcome.error) == (
        "MCP server 'calc': field 'env.TOKEN' uses ${FIXTURE_SECRET_TOKEN}, which is not set in the environment; "
        "set it, or write ${FIXTURE_SECRET_TOKEN:-default}"
    )


def test_variables_of_the_environment_reach_the_server(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_NAME_FROM_ENV", "viaenv")
    server = calc(server_tag)
    server = McpServerSpec(
        server.name,
        "stdio",
        command=server.command,
        args=(server.args[0], "--name", "${FIXTURE_NAME_FROM_ENV}", "--tag", server_tag),
    )
    fake_api.enqueue(text("ok"))
    events: list[Any] = []
    outcome = run_with(workspace, server, events=events)
    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert "fixture server viaenv starting" in dict(events)["mcp_server_stderr"]["stderr"]


def test_a_server_that_exits_at_start_fails_the_run_naming_it_and_its_stderr(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str
) -> None:
    outcome = run_with(workspace, calc(server_tag, "--exit-at-start"))
    assert outcome.exit_code is ExitCode.FAILED
    message = str(outcome.error)
    assert type(outcome.error).__name__ == "McpServerFailed"
    assert message.startswith("MCP server 'calc' failed to start")
    assert "fixture server calc starting … fixture server cannot open its database" in message
    assert fake_api.requests == []


def test_bash_restart_leaves_the_mcp_servers_running(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str
) -> None:
    fake_api.enqueue(
        tool_use(("bash", {"command": "true"})),
        tool_use(("bash", {"restart": True})),
        tool_use(("mcp__calc__add", {"a": 3, "b": 4})),
        text("ok"),
    )
    outcome = run_with(workspace, calc(server_tag))
    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert tool_results(fake_api.requests[3].body)[0]["content"][0]["text"] == "7"


def test_a_timeout_during_a_tool_call_stops_the_servers(
    fake_api: FakeMessagesAPI, workspace: Path, server_tag: str
) -> None:
    fake_api.enqueue(tool_use(("mcp__calc__sleep", {"seconds": 60})))
    started = time.monotonic()
    outcome = run_with(workspace, calc(server_tag, "--child"), deadline=time.monotonic() + 5)
    assert outcome.exit_code is ExitCode.TIMEOUT, outcome.error
    assert "mcp__calc__sleep" in str(outcome.error)
    assert time.monotonic() - started < 25
    # the `server_tag` fixture checks that neither the server nor its child is left


def test_a_per_call_limit_cancels_only_that_call(fake_api: FakeMessagesAPI, workspace: Path, server_tag: str) -> None:
    fake_api.enqueue(
        tool_use(("mcp__calc__sleep", {"seconds": 30})), tool_use(("mcp__calc__add", {"a": 1, "b": 1})), text("ok")
    )
    outcome = run_with(workspace, calc(server_tag), mcp_call_timeout_s=1.0)
    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    late = tool_results(fake_api.requests[1].body)[0]
    assert late["is_error"] and "did not answer within 1 s" in late["content"]
    assert tool_results(fake_api.requests[2].body)[0]["content"][0]["text"] == "2"


def test_a_server_that_hangs_on_shutdown_is_killed(fake_api: FakeMessagesAPI, workspace: Path, server_tag: str) -> None:
    fake_api.enqueue(text("done"))
    started = time.monotonic()
    outcome = run_with(workspace, calc(server_tag, "--hang-on-exit", "--child"))
    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert time.monotonic() - started < 30  # the SDK's grace and SIGTERM wait, then SIGKILL
    assert survivors(server_tag) == []


def test_a_failing_run_stops_the_servers(fake_api: FakeMessagesAPI, workspace: Path, server_tag: str) -> None:
    fake_api.enqueue(text("FAILED: cannot do it"))
    outcome = run_with(workspace, calc(server_tag, "--child"))
    assert outcome.exit_code is ExitCode.FAILED
    assert survivors(server_tag) == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def http_server(server_tag: str) -> Iterator[str]:
    """The fixture server on Streamable HTTP at 127.0.0.1 (uvicorn, as the SDK runs it)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(FIXTURE), "--name", "web", "--tag", server_tag, "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.slow
def test_an_http_server_is_connected_to_and_its_tools_called(
    fake_api: FakeMessagesAPI, workspace: Path, http_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_HTTP_URL", http_server)
    server = McpServerSpec("web", "http", url="${FIXTURE_HTTP_URL}", headers=(("X-Test", "yes"),))
    fake_api.enqueue(tool_use(("mcp__web__add", {"a": 20, "b": 22})), text("42"))
    outcome = run_with(workspace, server)
    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert tool_results(fake_api.requests[1].body)[0]["content"][0]["text"] == "42"


def test_an_http_server_that_is_not_there_fails_the_run(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    server = McpServerSpec("web", "http", url=f"http://127.0.0.1:{free_port()}/mcp")
    outcome = run_with(workspace, server)
    assert outcome.exit_code is ExitCode.FAILED
    assert str(outcome.error).startswith("MCP server 'web'")
    assert fake_api.requests == []


def test_a_bad_url_is_a_usage_error(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXTURE_HTTP_URL", "ftp://example.com/secret-token-in-url")
    outcome = run_with(workspace, McpServerSpec("web", "http", url="${FIXTURE_HTTP_URL}"))
    assert outcome.exit_code is ExitCode.USAGE_ERROR
    assert "MCP server 'web': field 'url'" in str(outcome.error)
    assert "secret-token-in-url" not in str(outcome.error)


class DefectiveTransport:
    """A stand-in for a bug in bassi: the first API call raises an unexpected exception."""

    def stream_message(self, params: dict[str, Any], timeout_s: float | None, on_text: Any) -> dict[str, object]:
        raise RuntimeError("a defect in the transport")


def test_a_crash_stops_the_servers(workspace: Path, server_tag: str) -> None:
    request = make_request(workspace, mcp_servers=(calc(server_tag, "--child", "--hang-on-exit"),))
    outcome = run_agent(request, DefectiveTransport(), NullObserver())
    assert outcome.exit_code is ExitCode.FAILED
    assert type(outcome.error).__name__ == "InternalError"
    assert survivors(server_tag) == []
