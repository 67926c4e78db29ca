"""`bassi ci action-run` (the body of action.yml) against the fake Messages API and a bare remote."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from bassi_ci.ci.action import github_output_text
from bassi_ci.runs.junit import junit_xml
from bassi_ci.runs.result import result_schema
from tests.ci.helpers import (
    HEADER,
    RUNNER_FILES,
    RUNNER_TOKENS,
    TOKEN,
    action_run,
    assert_no_credential_in_config,
    clone,
    git,
    git_recorder,
    parse_outputs,
    recorded_calls,
    remote_files,
    remote_log,
    runner_env,
)
from tests.fakeapi import FakeMessagesAPI, from_script

WRITE_REPORT = {
    "type": "tool_use",
    "calls": [["bash", {"command": "mkdir -p reports && echo 'weekly' > reports/week.md && echo x > stray.txt"}]],
}


@pytest.fixture
def work(remote: Path, tmp_path: Path) -> Path:
    repo = clone(remote, tmp_path / "work")
    tasks = repo / ".bassi" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "weekly.yaml").write_text(
        "id: weekly\nprompt: Write the weekly report\n"
        "commit:\n  paths: ['reports/*.md']\n  message: '{task_id}: report for {team}'\nvars:\n  team: core\n"
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "add task")
    git(repo, "push", "-q", "origin", "main")
    return repo


def test_task_run_commits_back_and_sets_outputs(
    work: Path,
    tmp_path: Path,
    remote: Path,
    fake_api: FakeMessagesAPI,
) -> None:
    fake_api.enqueue(from_script(WRITE_REPORT), from_script({"type": "text", "text": "Report written.\nBye"}))
    code, outputs, log = action_run(
        work, tmp_path, task="weekly", anthropic_api_key="sk-test-key-0123456789", commit="true"
    )
    assert code == 0, log
    assert "::add-mask::sk-test-key-0123456789" in log
    assert outputs["status"] == "success" and outputs["exit-code"] == "0"
    assert outputs["result"] == "Report written.\nBye"
    assert outputs["num-turns"] == "2"
    assert int(outputs["input-tokens"]) > 0 and float(outputs["cost-usd"]) > 0
    assert Path(outputs["result-file"]).is_file()
    assert outputs["commit-sha"] == git(remote, "rev-parse", "main")
    assert remote_log(remote)[0].startswith("weekly: report for core|bassi[bot]")
    assert "stray.txt" not in remote_files(remote) and "reports/week.md" in remote_files(remote)
    headers = fake_api.requests[0].headers
    assert "sk-test-key-0123456789" in (headers.get("x-api-key", "") + headers.get("authorization", ""))


def test_failed_run_commits_nothing_and_fails_the_step(
    work: Path,
    tmp_path: Path,
    remote: Path,
    fake_api: FakeMessagesAPI,
) -> None:
    fake_api.enqueue(
        from_script(WRITE_REPORT),
        from_script(
            {"type": "error", "status": 401, "error_type": "authentication_error", "message": "invalid x-api-key"}
        ),
    )
    code, outputs, log = action_run(work, tmp_path, task="weekly", anthropic_api_key="bad", commit="true")
    assert code == 7, log
    assert outputs["status"] == "auth_error" and outputs["exit-code"] == "7"
    assert "::error title=bassi::status auth_error" in log
    assert outputs["commit-sha"] == ""
    assert "not committing" in log
    assert len(remote_log(remote)) == 2


def test_a_failed_run_on_github_is_annotated_once(work: Path, tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.enqueue(
        from_script(
            {"type": "error", "status": 401, "error_type": "authentication_error", "message": "invalid x-api-key"}
        )
    )
    summary = tmp_path / "summary.md"
    code, _, log = action_run(
        work,
        tmp_path,
        {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
        prompt="p",
        anthropic_api_key="bad",
    )
    assert code == 7, log
    errors = [line for line in log.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "auth_error" in errors[0], log


def test_prompt_with_vars_and_explicit_commit_paths(
    work: Path,
    tmp_path: Path,
    remote: Path,
    fake_api: FakeMessagesAPI,
) -> None:
    fake_api.enqueue(from_script(WRITE_REPORT), from_script({"type": "text", "text": "ok"}))
    code, _outputs, log = action_run(
        work,
        tmp_path,
        prompt="Report for {team}",
        vars="team=a b\n\nx=1",
        anthropic_api_key="k" * 20,
        commit="true",
        commit_paths="stray.txt",
        commit_message="adhoc {x}",
    )
    assert code == 0, log
    assert "Report for a b" in str(fake_api.requests[0].body["messages"])
    assert remote_log(remote)[0].startswith("adhoc 1|")
    assert "stray.txt" in remote_files(remote) and "reports/week.md" not in remote_files(remote)


def test_unknown_task_is_a_usage_error(work: Path, tmp_path: Path) -> None:
    code, _, log = action_run(work, tmp_path, task="nope")
    assert code == 2 and "nope" in log


@pytest.mark.parametrize(
    ("inputs", "hint"),
    [
        ({}, "'task' or a 'prompt'"),
        ({"task": "nope"}, "nope"),
        ({"prompt": "p", "vars": "team=core\nnot a pair"}, "not a pair"),
        ({"task": "weekly", "tasks_dir": "no/such/dir"}, "no/such/dir"),
        ({"prompt": "p", "working_directory": "no-such-folder"}, "no-such-folder"),
        ({"prompt": "p", "commit": "maybe"}, "maybe"),
    ],
)
def test_bad_inputs_still_set_every_output(work: Path, tmp_path: Path, inputs: dict[str, str], hint: str) -> None:
    code, outputs, log = action_run(work, tmp_path, **inputs)
    assert code == 2, log
    assert outputs["status"] == "usage_error" and outputs["exit-code"] == "2"
    result = json.loads(Path(outputs["result-file"]).read_text())
    jsonschema.Draft202012Validator(result_schema()).validate(result)
    assert result["status"] == "usage_error" and result["exit_code"] == 2 and hint in result["error"]["message"]
    errors = [line for line in log.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and hint in errors[0], log
    assert "unexpected error" not in log


def test_agent_never_sees_the_workflow_token(work: Path, tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    fake_api.enqueue(
        from_script(
            {
                "type": "tool_use",
                "calls": [
                    [
                        "bash",
                        {
                            "command": "env > ../agent-env.txt; "
                            'echo "${#GH_TOKEN} ${#GITHUB_TOKEN}" > ../token-lengths.txt'
                        },
                    ]
                ],
            }
        ),
        from_script({"type": "text", "text": "looked around"}),
    )
    token = "ghs_" + "T0kenFromTheWorkflow" * 2
    code, _, log = action_run(
        work, tmp_path, {"BASSI_GITHUB_TOKEN": token}, prompt="look around", anthropic_api_key="sk-test-key-0123456789"
    )
    assert code == 0, log
    assert (tmp_path / "token-lengths.txt").read_text().split() == ["0", "0"]
    agent_env = (tmp_path / "agent-env.txt").read_text()
    assert token not in agent_env
    assert "BASSI_INPUT_" not in agent_env and "BASSI_GITHUB_TOKEN" not in agent_env


def test_commit_back_pushes_with_the_workflow_token_without_storing_it(
    work: Path,
    tmp_path: Path,
    remote: Path,
    fake_api: FakeMessagesAPI,
) -> None:
    fake_api.enqueue(
        from_script(
            {
                "type": "tool_use",
                "calls": [
                    [
                        "bash",
                        {
                            "command": "mkdir -p reports && echo w > reports/week.md && "
                            "cat .git/config > ../agent-git-config.txt"
                        },
                    ]
                ],
            }
        ),
        from_script({"type": "text", "text": "ok"}),
    )
    bin_dir, calls_log = git_recorder(tmp_path)
    env = {
        "BASSI_GITHUB_TOKEN": TOKEN,
        "GITHUB_SERVER_URL": "https://github.com",
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
    }
    code, outputs, log = action_run(work, tmp_path, env, task="weekly", anthropic_api_key="k" * 20, commit="true")
    assert code == 0, log
    assert outputs["commit-sha"] == git(remote, "rev-parse", "main")
    pushes = [lines for sub, lines in recorded_calls(calls_log) if sub == "push"]
    assert pushes and all(
        f"GIT_CONFIG_VALUE_0={HEADER}" in lines and f"git reads: {HEADER}" in lines for lines in pushes
    )
    assert TOKEN not in (tmp_path / "agent-git-config.txt").read_text()
    assert_no_credential_in_config(work)
    encoded = HEADER.removeprefix("AUTHORIZATION: basic ")
    assert TOKEN not in log
    assert [line for line in log.splitlines() if encoded in line] == [f"::add-mask::{encoded}"]


# What a hostile agent may plant so that git runs its program during commit-back, with the push
# credential at hand. Each writes ../ran-<name> when it runs.
PLANTS = {
    "filter": "printf '*.md filter=spy\\n' > .gitattributes"
    " && git config filter.spy.clean 'sh -c \"touch ../ran-filter; cat\"'",
    "ssh-command": "git config core.sshCommand 'touch ../ran-ssh-command' && git remote set-url --push origin ssh://x/y",
    "credential-helper": "git config credential.helper '!touch ../ran-credential-helper'",
    "hook": "printf '#!/bin/sh\\ntouch ../ran-hook\\n' > .git/hooks/pre-push && chmod +x .git/hooks/pre-push",
    "info-attributes": "printf '*.md filter=spy\\n' > .git/info/attributes"
    " && git config filter.spy.clean 'touch ../ran-x'",
    "include": "printf '[core]\\n\\tpager = touch ../ran-include\\n' > ../inc && git config include.path ../../inc",
    "global-config": "git config --global core.sshCommand 'touch ../ran-global'",
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_commit_back_refuses_when_the_agent_changed_the_git_configuration(
    work: Path, tmp_path: Path, remote: Path, fake_api: FakeMessagesAPI, plant: str
) -> None:
    before = git(remote, "rev-parse", "main")
    command = f"mkdir -p reports && echo w > reports/week.md && {PLANTS[plant]}"
    fake_api.enqueue(
        from_script({"type": "tool_use", "calls": [["bash", {"command": command}]]}),
        from_script({"type": "text", "text": "ok"}),
    )
    code, outputs, log = action_run(
        work, tmp_path, {"BASSI_GITHUB_TOKEN": TOKEN}, task="weekly", anthropic_api_key="k" * 20, commit="true"
    )
    assert code == 1, log
    assert (outputs["status"], outputs["exit-code"], outputs["commit-sha"]) == ("failed", "1", "")
    assert "refusing to commit back" in log and "nothing was committed or pushed" in log
    assert git(remote, "rev-parse", "main") == before  # nothing pushed
    assert not list(tmp_path.glob("ran-*")), "git ran a program the agent planted"
    result = json.loads(Path(outputs["result-file"]).read_text())
    assert (result["status"], result["exit_code"], result["error"]["type"]) == ("failed", 1, "GitConfigChanged")


def test_a_token_the_user_sets_on_the_step_reaches_the_agent(
    work: Path, tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.enqueue(
        from_script(
            {"type": "tool_use", "calls": [["bash", {"command": 'echo "${#GH_TOKEN}" > ../gh-token-length.txt'}]]}
        ),
        from_script({"type": "text", "text": "ok"}),
    )
    code, _, log = action_run(work, tmp_path, {"GH_TOKEN": "x" * 12}, prompt="p", anthropic_api_key="k" * 20)
    assert code == 0, log
    assert (tmp_path / "gh-token-length.txt").read_text().strip() == "12"


def test_commit_paths_of_the_action_expand_template_variables(
    work: Path,
    tmp_path: Path,
    remote: Path,
    fake_api: FakeMessagesAPI,
) -> None:
    fake_api.enqueue(
        from_script(
            {
                "type": "tool_use",
                "calls": [["bash", {"command": "mkdir -p out && echo a > out/core.md && echo b > out/other.md"}]],
            }
        ),
        from_script({"type": "text", "text": "ok"}),
    )
    code, _, log = action_run(
        work, tmp_path, task="weekly", anthropic_api_key="k" * 20, commit="true", commit_paths="out/{team}.md"
    )
    assert code == 0, log
    assert "out/core.md" in remote_files(remote) and "out/other.md" not in remote_files(remote)


def test_commit_back_refuses_a_secret_from_the_environment(
    work: Path,
    tmp_path: Path,
    remote: Path,
    fake_api: FakeMessagesAPI,
) -> None:
    fake_api.enqueue(
        from_script(
            {
                "type": "tool_use",
                "calls": [["bash", {"command": 'mkdir -p reports && echo "$MY_SERVICE_TOKEN" > reports/week.md'}]],
            }
        ),
        from_script({"type": "text", "text": "ok"}),
    )
    secret = "just-some-words-4-the-service"
    code, outputs, log = action_run(
        work, tmp_path, {"MY_SERVICE_TOKEN": secret}, task="weekly", anthropic_api_key="k" * 20, commit="true"
    )
    assert code == 1, log
    assert outputs["status"] == "failed" and outputs["commit-sha"] == ""
    assert "reports/week.md" in log and "MY_SERVICE_TOKEN" in log and secret not in log
    assert len(remote_log(remote)) == 2


def test_output_file_format_survives_hostile_values() -> None:
    text = github_output_text({"result": "line1\nEOF\nresult<<x\n", "status": "success"})
    assert parse_outputs(text) == {"result": "line1\nEOF\nresult<<x\n", "status": "success"}


def test_junit_report() -> None:
    import xml.etree.ElementTree as ET

    ok = ET.fromstring(junit_xml({"task_id": "weekly", "status": "success", "result": "done <b>", "duration_ms": 1500}))
    assert ok.get("failures") == "0" and ok.find("testcase").get("name") == "weekly"  # type: ignore[union-attr]
    assert ok.findtext("testcase/system-out") == "done <b>"
    bad = ET.fromstring(
        junit_xml(
            {
                "task_id": "weekly",
                "status": "timeout",
                "exit_code": 4,
                "error": {"type": "RunTimeout", "message": "limit \x1b 30m"},
            }
        )
    )
    failure = bad.find("testcase/failure")
    assert bad.get("failures") == "1" and failure is not None
    assert failure.get("type") == "RunTimeout" and "limit" in (failure.get("message") or "")


# --- The runner's file commands and tokens (issue #7, item 3) ------------------------------------


@pytest.mark.parametrize("target", ["GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"])
def test_the_agent_writing_a_runner_file_command_fails_the_step_and_is_undone(
    work: Path, tmp_path: Path, remote: Path, fake_api: FakeMessagesAPI, target: str
) -> None:
    path = tmp_path / target.lower()
    attack = f"mkdir -p reports && echo w > reports/week.md && echo BASH_ENV=/tmp/evil.sh >> {path}"
    fake_api.enqueue(
        from_script({"type": "tool_use", "calls": [["bash", {"command": attack}]]}),
        from_script({"type": "text", "text": "ok"}),
    )
    before = git(remote, "rev-parse", "main")
    code, outputs, log = action_run(
        work, tmp_path, runner_env(tmp_path), task="weekly", anthropic_api_key="k" * 20, commit="true"
    )
    assert code == 1, log
    assert (outputs["status"], outputs["commit-sha"]) == ("failed", "")
    assert f"the runner's file-command files ({target})" in log
    assert "BASH_ENV" not in path.read_text() and path.read_text().startswith(f"{target}_BEFORE=1\n")
    assert git(remote, "rev-parse", "main") == before  # and nothing was committed back
    result = json.loads(Path(outputs["result-file"]).read_text())
    assert (result["status"], result["error"]["type"]) == ("failed", "RunnerFilesChanged")


def test_the_agent_sees_no_runner_file_command_or_token_and_the_summary_still_arrives(
    work: Path, tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    fake_api.enqueue(
        from_script({"type": "tool_use", "calls": [["bash", {"command": "env > ../agent-env.txt"}]]}),
        from_script({"type": "text", "text": "all good"}),
    )
    env = runner_env(tmp_path)
    code, outputs, log = action_run(work, tmp_path, env, prompt="look around", anthropic_api_key="k" * 20)
    assert code == 0, log
    seen = (tmp_path / "agent-env.txt").read_text()
    for name in [*RUNNER_FILES, "GITHUB_OUTPUT", *RUNNER_TOKENS]:
        assert f"{name}=" not in seen, name
    for value in RUNNER_TOKENS.values():
        assert value not in seen
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert summary.startswith("GITHUB_STEP_SUMMARY_BEFORE=1\n") and "success" in summary  # execute's own block
    assert outputs["status"] == "success"


def test_a_report_outside_the_commit_paths_is_named_in_the_log_and_the_summary(
    work: Path, tmp_path: Path, remote: Path, fake_api: FakeMessagesAPI
) -> None:
    """The run succeeds and commit-back commits nothing, as before; now both say where the file went."""
    wrong_folder = {"type": "tool_use", "calls": [["bash", {"command": "mkdir -p report && echo x > report/week.md"}]]}
    fake_api.enqueue(from_script(wrong_folder), from_script({"type": "text", "text": "Report written."}))
    summary = tmp_path / "step-summary.md"
    summary.write_text("")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    code, outputs, log = action_run(work, tmp_path, env, task="weekly", anthropic_api_key="k" * 20, commit="true")
    assert code == 0, log
    assert (outputs["status"], outputs["commit-sha"]) == ("success", "")
    assert len(remote_log(remote)) == 2  # the seed and the task: nothing was pushed
    assert (
        "nothing to commit: nothing changed under reports/*.md (the commit paths); "
        "the working tree changed report/week.md"
    ) in log.splitlines()
    note = "nothing changed under reports/*.md (the task's commit paths); the run changed report/week.md"
    assert f"  note: {note}" in log.splitlines()
    assert f"> **Note:** {note}" in summary.read_text().splitlines()


# --- The action's limits, each observed in its effect ----------------------------------------------

BASH_TRUE = {"type": "tool_use", "calls": [["bash", {"command": "true"}]]}


@pytest.mark.parametrize(("max_turns", "expected"), [("1", ("5", "limit_reached", "1")), ("2", ("0", "success", "2"))])
def test_the_max_turns_input_stops_the_run(
    work: Path, tmp_path: Path, fake_api: FakeMessagesAPI, max_turns: str, expected: tuple[str, str, str]
) -> None:
    fake_api.enqueue(from_script(BASH_TRUE), from_script({"type": "text", "text": "done"}))
    code, outputs, log = action_run(work, tmp_path, prompt="p", anthropic_api_key="k" * 20, max_turns=max_turns)
    assert (str(code), outputs["status"], outputs["num-turns"]) == expected, log
    assert outputs["exit-code"] == expected[0]
    if code == 5:
        assert "max_turns reached" in json.loads(Path(outputs["result-file"]).read_text())["error"]["message"]


@pytest.mark.parametrize(("budget", "expected"), [("0.001", ("5", "limit_reached", "1")), ("5", ("0", "success", "2"))])
def test_the_max_budget_usd_input_stops_the_run(
    work: Path, tmp_path: Path, fake_api: FakeMessagesAPI, budget: str, expected: tuple[str, str, str]
) -> None:
    # claude-haiku-4-5: $1 per million input tokens, so the first turn costs exactly $0.001
    usage = {"input_tokens": 1000, "output_tokens": 0}
    fake_api.enqueue(
        from_script({**BASH_TRUE, "usage": usage}), from_script({"type": "text", "text": "ok", "usage": usage})
    )
    code, outputs, log = action_run(
        work, tmp_path, prompt="p", anthropic_api_key="k" * 20, model="claude-haiku-4-5", max_budget_usd=budget
    )
    assert (str(code), outputs["status"], outputs["num-turns"]) == expected, log
    if code == 5:
        assert float(outputs["cost-usd"]) == 0.001
        assert "max_budget_usd reached" in json.loads(Path(outputs["result-file"]).read_text())["error"]["message"]


def test_the_timeout_minutes_input_sets_the_runs_time_limit(
    work: Path, tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    # The task allows 3 seconds; a 5-second command times out unless the input (1 minute) replaces that.
    (work / ".bassi" / "tasks" / "quick.yaml").write_text("id: quick\nprompt: p\nlimits: {timeout: 3}\n")
    sleep = from_script({"type": "tool_use", "calls": [["bash", {"command": "sleep 5"}]]})
    fake_api.enqueue(sleep)
    code, outputs, log = action_run(work, tmp_path, task="quick", anthropic_api_key="k" * 20)
    assert (code, outputs["status"]) == (4, "timeout"), log
    if fake_api.pending == 0:  # on a slow machine the deadline may pass before the first call
        fake_api.enqueue(sleep)
    fake_api.enqueue(from_script({"type": "text", "text": "done"}))
    code, outputs, log = action_run(work, tmp_path, task="quick", anthropic_api_key="k" * 20, timeout_minutes="1")
    assert (code, outputs["status"], outputs["num-turns"]) == (0, "success", "2"), log
    result = json.loads(Path(outputs["result-file"]).read_text())
    start = json.loads(Path(result["log_path"]).read_text().splitlines()[0])
    assert (start["event"], start["timeout_s"]) == ("run_start", 60)
    assert result["duration_ms"] >= 5000  # the command ran to its end
