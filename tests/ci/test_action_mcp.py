"""The action's `mcp-config` input: a `.mcp.json` relative to `working-directory`, run through
`bassi ci action-run` as action.yml runs it, with the MCP fixture server and the fake Messages API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bassi_ci.ci.action import ActionInputs, execute_argv
from tests.agent.mcp_helpers import FIXTURE, survivors
from tests.ci.helpers import action_run
from tests.fakeapi import FakeMessagesAPI, text, tool_use


def test_mcp_config_input_becomes_the_execute_option() -> None:
    inputs = ActionInputs.from_env({"BASSI_INPUT_PROMPT": "p", "BASSI_INPUT_MCP_CONFIG": " tools/.mcp.json "})
    argv = execute_argv(inputs, None)
    assert argv[argv.index("--mcp-config") + 1] == "tools/.mcp.json"
    assert "--mcp-config" not in execute_argv(ActionInputs.from_env({"BASSI_INPUT_PROMPT": "p"}), None)


def test_mcp_config_relative_to_the_working_directory_gives_the_agent_the_servers_tools(
    tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    work = tmp_path / "repo" / "sub"
    work.mkdir(parents=True)
    tag = f"action-mcp-{tmp_path.name}"
    server = {"command": sys.executable, "args": [str(FIXTURE), "--tag", tag]}
    (work / ".mcp.json").write_text(json.dumps({"mcpServers": {"calc": server}}))
    fake_api.enqueue(tool_use(("mcp__calc__add", {"a": 40, "b": 2})), text("Done: 42."))

    code, outputs, log = action_run(
        tmp_path / "repo",
        tmp_path,
        prompt="add 40 and 2",
        anthropic_api_key="k" * 20,
        working_directory="sub",
        mcp_config=".mcp.json",
    )

    assert (code, outputs["status"]) == (0, "success"), log
    answer = fake_api.requests[1].body["messages"][-1]["content"][0]
    assert answer["content"] == [{"type": "text", "text": "42"}]
    assert survivors(tag) == []


def test_a_missing_mcp_config_fails_the_step_as_a_usage_error(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    code, outputs, _ = action_run(work, tmp_path, prompt="p", anthropic_api_key="k" * 20, mcp_config="nope.json")
    assert (code, outputs["status"]) == (2, "usage_error")
    message = json.loads(Path(outputs["result-file"]).read_text())["error"]["message"]
    assert message.startswith("nope.json: cannot read the MCP configuration")
