"""`bassi execute` as a user runs it: the real SDK over HTTP to the fake Messages API,
a real task store, history database and transcripts under a temporary BASSI_HOME."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.runs.locks import task_lock
from tests.cli import ROOT, bassi_process, check_result, history_row, run_cli
from tests.fakeapi import FakeMessagesAPI, FakeResponse, error, slow, text, tool_use
from tests.workflow_commands import github_commands

TASK_YAML = """\
id: weekly
name: Weekly
prompt: "Write the weekly report for {team} on {date}"
vars:
  team: growth
limits:
  timeout: 5m
  max_turns: 10
"""


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def task_file(workspace: Path) -> Path:
    path = workspace / "weekly.yaml"
    path.write_text(TASK_YAML)
    return path


def execute_ci(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli("execute", *args, "--ci", env=env)
    document = check_result(out)
    assert document["exit_code"] == code
    return code, document, err


# --------------------------------------------------------------------------- exit codes


def test_success_writes_files_result_history_and_log(
    fake_api: FakeMessagesAPI, task_file: Path, workspace: Path, isolated_home: Path
) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "echo hi > out.txt"})), text("Report written."))
    code, result, err = execute_ci(str(task_file))
    assert code == 0 and result["status"] == "success" and result["error"] is None
    assert (workspace / "out.txt").read_text() == "hi\n"
    assert result["task_id"] == "weekly" and result["num_turns"] == 2 and result["result"] == "Report written."
    assert result["files_changed"] == ["out.txt"]
    assert result["usage"]["output_tokens"] > 0 and result["total_cost_usd"] > 0
    prompt = fake_api.requests[0].body["messages"][0]["content"][0]["text"]
    assert prompt.startswith("Write the weekly report for growth on 20")
    row = history_row(isolated_home, result["run_id"])
    assert (row["status"], row["exit_code"], row["num_turns"], row["result"]) == ("success", 0, 2, "Report written.")
    events = [json.loads(line)["event"] for line in Path(result["log_path"]).read_text().splitlines()]
    assert events[0] == "run_start" and events[-1] == "run_end"
    assert {"request", "response", "tool_call", "tool_result"} <= set(events)
    assert "→ bash: echo hi > out.txt" in err


def test_failed_run_exits_1(fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path) -> None:
    fake_api.enqueue(text("FAILED: metrics.csv does not exist"))
    code, result, _ = execute_ci(str(task_file))
    assert (code, result["status"], result["is_error"]) == (1, "failed", True)
    assert "metrics.csv does not exist" in result["error"]["message"]
    assert history_row(isolated_home, result["run_id"])["status"] == "failed"


def test_unknown_template_variable_exits_2_without_calling_the_api(
    fake_api: FakeMessagesAPI, workspace: Path, isolated_home: Path
) -> None:
    code, result, _ = execute_ci("--prompt", "report on {projct}")
    assert (code, result["status"]) == (2, "usage_error")
    assert "{projct}" in result["error"]["message"] and result["error"]["type"] == "TemplateError"
    assert fake_api.requests == []
    assert history_row(isolated_home, result["run_id"])["status"] == "usage_error"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bogus-option"], "No such option"),
        (["--max-turns", "zero", "--prompt", "x"], "max-turns"),
        (["--var", "novalue", "--prompt", "x"], "KEY=VALUE"),
        (["--var", "bad-name=1", "--prompt", "x"], "not a valid variable name"),
        (["no-such-task"], "no task named 'no-such-task'"),
        (["missing/task.yaml"], "does not exist"),
        ([], "give a TASK"),
        (["--timeout", "soon", "--prompt", "x"], "--timeout"),
    ],
)
def test_usage_errors_in_ci_print_one_json_result(workspace: Path, args: list[str], expected: str) -> None:
    code, result, _ = execute_ci(*args)
    assert (code, result["status"]) == (2, "usage_error")
    assert expected in result["error"]["message"]


def test_usage_error_without_ci_is_one_line(workspace: Path) -> None:
    code, out, err = run_cli("execute", "--bogus-option")
    assert code == 2 and out == "" and "No such option" in err


def test_invalid_task_file_names_the_field(workspace: Path) -> None:
    (workspace / "bad.yaml").write_text("id: bad\nname: Bad\nprompt: hi\nlimits: {max_turns: -1}\n")
    code, result, _ = execute_ci("bad.yaml")
    assert code == 2 and "limits.max_turns" in result["error"]["message"]


def test_question_in_ci_exits_3(fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path) -> None:
    fake_api.enqueue(tool_use(("ask_user", {"question": "Which team should the report cover?"})))
    code, result, _ = execute_ci(str(task_file))
    assert (code, result["status"]) == (3, "needs_input")
    assert "Which team should the report cover?" in result["error"]["message"]
    assert history_row(isolated_home, result["run_id"])["status"] == "needs_input"


def test_timeout_exits_4(fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path) -> None:
    fake_api.enqueue(slow(5, text("too late")))
    code, result, _ = execute_ci(str(task_file), "--timeout", "1")
    assert (code, result["status"]) == (4, "timeout")
    assert 900 <= result["duration_ms"] < 4000
    assert history_row(isolated_home, result["run_id"])["status"] == "timeout"


def test_max_turns_exits_5(fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "true"})), tool_use(("bash", {"command": "true"})))
    code, result, _ = execute_ci(str(task_file), "--max-turns", "1")
    assert (code, result["status"], result["num_turns"]) == (5, "limit_reached", 1)
    assert history_row(isolated_home, result["run_id"])["status"] == "limit_reached"


def test_overloaded_api_exits_6_after_retries(fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path) -> None:
    fake_api.enqueue(*[error(529, error_type="overloaded_error") for _ in range(9)])
    code, result, _ = execute_ci(str(task_file))
    assert (code, result["status"], result["error"]["retryable"]) == (6, "api_error", True)
    assert len(fake_api.requests) == 9  # (1 + 2 SDK retries) x (1 + 2 task retries)
    assert history_row(isolated_home, result["run_id"])["status"] == "api_error"


def test_bad_key_exits_7(fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path) -> None:
    fake_api.enqueue(error(401, error_type="authentication_error", message="invalid x-api-key"))
    code, result, _ = execute_ci(str(task_file))
    assert (code, result["status"], result["error"]["retryable"]) == (7, "auth_error", False)
    assert history_row(isolated_home, result["run_id"])["status"] == "auth_error"


def test_no_key_exits_7(task_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    code, result, _ = execute_ci(str(task_file))
    assert code == 7 and "ANTHROPIC_API_KEY" in result["error"]["message"]


def test_running_task_exits_8_at_once(fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path) -> None:
    with task_lock("weekly", wait=False):
        code, result, _ = execute_ci(str(task_file))
    assert (code, result["status"]) == (8, "locked")
    assert result["duration_ms"] < 1000 and fake_api.requests == []
    assert history_row(isolated_home, result["run_id"])["status"] == "locked"


def test_wait_runs_after_the_other_run(fake_api: FakeMessagesAPI, task_file: Path) -> None:
    fake_api.enqueue(text("done"))
    held, release = threading.Event(), threading.Event()

    def other_run() -> None:
        with task_lock("weekly", wait=False):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=other_run)
    thread.start()
    held.wait(5)
    threading.Timer(0.5, release.set).start()
    code, result, err = execute_ci(str(task_file), "--wait")
    thread.join()
    assert (code, result["status"]) == (0, "success")
    assert err.count("waiting for the running 'weekly' run to finish…\n") == 1, err


def test_wait_on_a_free_task_says_nothing_about_waiting(fake_api: FakeMessagesAPI, task_file: Path) -> None:
    fake_api.enqueue(text("done"))
    code, _, err = execute_ci(str(task_file), "--wait")
    assert code == 0 and "waiting" not in err


# --------------------------------------------------------------------------- finding tasks


def test_task_from_store_and_from_repo(fake_api: FakeMessagesAPI, workspace: Path, isolated_home: Path) -> None:
    (isolated_home / "tasks").mkdir(parents=True)
    (isolated_home / "tasks" / "weekly.yaml").write_text(TASK_YAML.replace("{team}", "store-{team}"))
    repo = workspace / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".bassi" / "tasks").mkdir(parents=True)
    (repo / ".bassi" / "tasks" / "monthly.yml").write_text(TASK_YAML.replace("id: weekly", "id: monthly"))
    (repo / "sub").mkdir()
    fake_api.enqueue(text("a"), text("b"))
    assert execute_ci("weekly")[1]["task_id"] == "weekly"
    assert "store-growth" in fake_api.requests[0].body["messages"][0]["content"][0]["text"]

    os.chdir(repo / "sub")
    code, result, _ = execute_ci("monthly", "--var", "team=platform")
    assert (code, result["task_id"]) == (0, "monthly")
    assert "for platform on" in fake_api.requests[1].body["messages"][0]["content"][0]["text"]


def test_relative_workdir_is_relative_to_the_task_file(
    fake_api: FakeMessagesAPI, tmp_path: Path, workspace: Path
) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "tasks").mkdir()
    (project / "tasks" / "t.yaml").write_text(TASK_YAML + "workdir: ../data\n")
    fake_api.enqueue(tool_use(("bash", {"command": "pwd > where.txt"})), text("ok"))
    assert execute_ci(str(project / "tasks" / "t.yaml"))[0] == 0
    assert (project / "data" / "where.txt").read_text().strip() == str((project / "data").resolve())


# --------------------------------------------------------------------------- output


def test_terminal_output_streams_text_and_tool_lines(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(
        tool_use(("bash", {"command": "ls -la"}), text="Looking around."),
        tool_use(("str_replace_based_edit_tool", {"command": "create", "path": "reports/x.md", "file_text": "x"})),
        text("All done."),
    )
    code, out, _ = run_cli("execute", "--prompt", "tidy up")
    assert code == 0
    lines = out.splitlines()
    assert lines[:4] == ["Looking around.", "→ bash: ls -la", "→ edit create reports/x.md", "All done."]
    assert lines[4].startswith("✓ success (exit 0) · 3 turns · ") and "tokens · $" in lines[4]
    assert "\x1b[" not in out


def test_json_without_ci_puts_progress_on_stderr(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(text("Hello."))
    code, out, err = run_cli("execute", "--prompt", "hi", "--json")
    assert code == 0 and check_result(out)["result"] == "Hello."
    assert "Hello." in err and "✓ success" in err


def test_secrets_never_leave_the_process(
    fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "tok-9f8e7d6c5b4a3921"
    monkeypatch.setenv("DEPLOY_TOKEN", secret)
    for _ in range(2):
        fake_api.enqueue(
            tool_use(("bash", {"command": "echo the token is $DEPLOY_TOKEN"})),
            text(f"I found the token {secret} and the key sk-ant-api03-leaked-value-123."),
        )
    code, out, err = run_cli("execute", str(task_file))  # terminal mode: text streams to stdout
    assert code == 0
    code_ci, out_ci, err_ci = run_cli("execute", str(task_file), "--ci", "--junit", "junit.xml")
    assert code_ci == 0
    result = check_result(out_ci)
    assert "[REDACTED]" in result["result"]
    # the model really saw the secret through bash, so the redaction is what kept it out
    assert secret in json.dumps(fake_api.requests[1].body)
    stored = [p.read_bytes() for p in isolated_home.rglob("*") if p.is_file()]
    assert stored and any(p.name.startswith("state.db") for p in isolated_home.rglob("*"))
    for blob in [out.encode(), err.encode(), out_ci.encode(), err_ci.encode(), Path("junit.xml").read_bytes(), *stored]:
        assert secret.encode() not in blob
        assert b"sk-ant-" not in blob


def test_github_actions_summary_annotations_and_groups(
    fake_api: FakeMessagesAPI, task_file: Path, tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    fake_api.enqueue(
        tool_use(("bash", {"command": "echo 50% done"})),
        text("FAILED: 100% broken\nsee the log"),
    )
    env = {"GITHUB_ACTIONS": "true", "CI": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    code, _, err = execute_ci(str(task_file), env=env)
    assert code == 1
    assert "::error title=bassi failed::FAILED: 100%25 broken%0Asee the log" in err.splitlines()
    assert "::group::→ bash: echo 50%25 done" in err and "::endgroup::" in err
    text_md = summary.read_text()
    assert text_md.startswith("earlier step\n")
    for part in (
        "### bassi: weekly",
        "`failed` (exit 1)",
        "| Turns | 2 |",
        "| Cost | $",
        "| Duration |",
        "FAILED: 100% broken",
    ):
        assert part in text_md


def test_gitlab_sections(fake_api: FakeMessagesAPI, task_file: Path) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "echo hi"})), text("ok"))
    code, _, err = execute_ci(str(task_file), env={"GITLAB_CI": "true", "CI": "true"})
    assert code == 0
    assert "\x1b[0Ksection_start:" in err and "[collapsed=true]\r\x1b[0K→ bash: echo hi" in err
    assert "\x1b[0Ksection_end:" in err


def test_junit_report(fake_api: FakeMessagesAPI, task_file: Path, workspace: Path) -> None:
    fake_api.enqueue(text("All <good> & done"), text("FAILED: no data"))
    execute_ci(str(task_file), "--junit", "ok.xml")
    execute_ci(str(task_file), "--junit", "reports/bad.xml")
    ok = ET.parse(workspace / "ok.xml").getroot()
    assert (ok.tag, ok.get("tests"), ok.get("failures")) == ("testsuite", "1", "0")
    case = ok.find("testcase")
    assert case is not None and case.get("name") == "weekly"
    assert case.findtext("system-out") == "All <good> & done" and case.find("failure") is None
    bad = ET.parse(workspace / "reports" / "bad.xml").getroot()
    failure = bad.find("testcase/failure")
    assert bad.get("failures") == "1" and failure is not None and "no data" in (failure.get("message") or "")


def test_junit_on_usage_error(workspace: Path) -> None:
    code, _, _ = execute_ci("--junit", "j.xml", "--unknown")
    assert code == 2
    assert ET.parse(workspace / "j.xml").getroot().find("testcase/failure") is not None


# --------------------------------------------------------------------------- record and replay


def test_record_then_replay_without_key(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "echo recorded >> log.txt"})), text("Recorded run."))
    recording = workspace.parent / "rec.json"
    assert execute_ci("--prompt", "go", "--record", str(recording))[0] == 0
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    code, result, _ = execute_ci("--prompt", "go", "--replay", str(recording))
    assert (code, result["result"]) == (0, "Recorded run.")
    assert (workspace / "log.txt").read_text() == "recorded\nrecorded\n"  # the tool really ran again
    assert "sk-ant-" not in recording.read_text()


def test_replay_of_a_missing_file_is_a_usage_error(workspace: Path) -> None:
    code, result, _ = execute_ci("--prompt", "go", "--replay", "nope.json")
    assert code == 2 and "nope.json" in result["error"]["message"]


def test_shipped_example_replays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = tmp_path / "weekly-report"
    shutil.copytree(ROOT / "examples" / "weekly-report", example, ignore=shutil.ignore_patterns("reports"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens: no network is used
    code, result, _ = execute_ci(str(example / "task.yaml"), "--replay", str(example / "replay.json"))
    assert (code, result["task_id"], result["num_turns"]) == (0, "weekly-report", 4)
    report = example / "reports" / f"weekly-{datetime.now(UTC):%Y-%m-%d}.md"
    assert report.is_file() and "| total signups | 294 |" in report.read_text()
    assert result["files_changed"] == [f"reports/{report.name}"]


# --------------------------------------------------------------------------- signals and kills (child processes)


def wait_for_event(home: Path, kind: str, seconds: float = 20) -> Path:
    """The transcript of the one running run, once it has logged an event of `kind`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for log in home.glob("logs/*/*.jsonl"):
            if f'"event": "{kind}"' in log.read_text():
                return log
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event within {seconds}s")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_while_a_tool_runs_exits_130_with_result_and_row(
    fake_api: FakeMessagesAPI, task_file: Path, workspace: Path, isolated_home: Path, sig: signal.Signals
) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "sleep 30; echo never > never.txt"}), text="Waiting."))
    child = bassi_process("execute", str(task_file), "--ci", cwd=workspace)
    wait_for_event(isolated_home, "tool_call")
    time.sleep(0.2)
    started = time.monotonic()
    child.send_signal(sig)
    out, err = child.communicate(timeout=20)
    assert child.returncode == 130, err
    assert time.monotonic() - started < 10
    result = check_result(out)
    assert (result["status"], result["num_turns"]) == ("interrupted", 1)
    row = history_row(isolated_home, result["run_id"])
    assert (row["status"], row["exit_code"], row["finished_at"] is not None) == ("interrupted", 130, True)
    assert json.loads(Path(result["log_path"]).read_text().splitlines()[-1])["event"] == "run_end"
    time.sleep(0.3)
    assert not (workspace / "never.txt").exists()  # the bash command was stopped with its group


@pytest.mark.slow
def test_killed_run_is_lost_and_its_lock_recovered(
    fake_api: FakeMessagesAPI, task_file: Path, workspace: Path, isolated_home: Path
) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "sleep 3"})))
    child = bassi_process("execute", str(task_file), "--ci", cwd=workspace)
    wait_for_event(isolated_home, "tool_call")
    code, out, _ = run_cli("history", "weekly", "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "running"
    child.kill()
    child.wait()
    _, out, _ = run_cli("history", "weekly", "--json")
    lost = json.loads(out)[0]
    assert (lost["status"], lost["pid"] == child.pid) == ("lost", True)
    assert lost["finished_at"] is not None
    fake_api.enqueue(text("second run"))
    code, result, _ = execute_ci(str(task_file))  # not locked out by the dead run
    assert (code, result["result"]) == (0, "second run")


def test_broken_history_still_gives_one_json_result(
    fake_api: FakeMessagesAPI, task_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from bassi_ci.runs import history

    def broken(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(history, "start_run", broken)
    code, result, _ = execute_ci(str(task_file))
    assert (code, result["status"], result["error"]["type"]) == (1, "failed", "InternalError")
    assert "disk I/O error" in result["error"]["message"]


def test_files_changed_leaves_out_bassis_own_files(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASSI_HOME", str(workspace / ".bassi-home"))
    fake_api.enqueue(tool_use(("bash", {"command": "echo x > out.txt"})), text("ok"))
    code, result, _ = execute_ci("--prompt", "go", "--record", "rec.json")
    assert code == 0 and result["files_changed"] == ["out.txt"]


# --------------------------------------------------------------------------- security review findings


def stored_files(home: Path) -> list[bytes]:
    return [p.read_bytes() for p in home.rglob("*") if p.is_file()]


def test_multi_line_secrets_and_trailing_newlines_never_leave_the_process(
    fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = ["AAAAlinetwoSECRETpart", "BBBBline3SECRET", "trailingnewlinetoken99"]
    monkeypatch.setenv("MY_PRIVATE_KEY", "\n".join(["-----BEGIN KEY-----", *lines[:2], "-----END KEY-----"]))
    monkeypatch.setenv("MY_TOKEN", lines[2] + "\n")
    fake_api.enqueue(
        tool_use(("bash", {"command": 'echo "$MY_PRIVATE_KEY"; echo "$MY_TOKEN"'})),
        text("The values are:\n" + "\n".join(lines)),
    )
    # on GitHub the tool output is folded into the log, line by line
    code, out, err = run_cli("execute", str(task_file), "--ci", env={"GITHUB_ACTIONS": "true", "CI": "true"})
    result = check_result(out)
    assert code == 0 and "[REDACTED]" in result["result"]
    assert all(line in json.dumps(fake_api.requests[1].body) for line in lines)  # the tool really printed them
    for blob in [out.encode(), err.encode(), *stored_files(isolated_home)]:
        for line in lines:
            assert line.encode() not in blob


def test_tool_output_and_model_text_cannot_forge_github_workflow_commands(
    fake_api: FakeMessagesAPI, task_file: Path
) -> None:
    forged = [
        "::add-mask::bassi",
        "::set-output name=status::success",
        "::error::forged",
        "::stop-commands::x",
        "::x::",
        "::warning::after the forged resume",
    ]
    fake_api.enqueue(
        tool_use(("bash", {"command": "printf '%s\\n' " + " ".join(map(shlex.quote, forged))}), text="\n".join(forged)),
        text("FAILED: broken\n::set-output name=result::forged"),
    )
    code, _, err = execute_ci(str(task_file), env={"GITHUB_ACTIONS": "true", "CI": "true"})
    assert code == 1
    commands, tokens = github_commands(err)
    assert [c for c in commands if not c.startswith(("::group::", "::endgroup::"))] == [
        "::error title=bassi failed::FAILED: broken%0A::set-output name=result::forged"
    ]
    assert all(err.splitlines().count(line) == 2 for line in forged)  # shown (text and output), but inert
    assert len(tokens) == len(set(tokens)) >= 3 and all(re.fullmatch("[0-9a-f]{32}", t) for t in tokens)
    assert not any(t in json.dumps(r.body) for t in tokens for r in fake_api.requests)


@pytest.mark.parametrize("target", ["junit", "step-summary"])
def test_a_report_file_that_cannot_be_written_is_only_a_warning(
    fake_api: FakeMessagesAPI, task_file: Path, tmp_path: Path, target: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = blocker / "report"  # inside a file: cannot be created
    fake_api.enqueue(text("done"))
    env = {"GITHUB_ACTIONS": "true", "CI": "true"}
    if target == "junit":
        code, result, err = execute_ci(str(task_file), "--junit", str(path), env=env)
    else:
        code, result, err = execute_ci(str(task_file), env={**env, "GITHUB_STEP_SUMMARY": str(path)})
    assert (code, result["status"]) == (0, "success")
    warning = [line for line in err.splitlines() if line.startswith("bassi: warning:")]
    assert len(warning) == 1 and str(path) in warning[0]


def test_a_crash_keeps_the_turns_and_tokens_already_used(
    fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bassi_ci.runs.observers import TranscriptObserver

    def broken(self: TranscriptObserver, name: str, tool_input: dict[str, object]) -> None:
        raise RuntimeError("observer bug")

    monkeypatch.setattr(TranscriptObserver, "on_tool_call", broken)  # outside what the loop catches
    fake_api.enqueue(tool_use(("bash", {"command": "true"})))
    code, result, _ = execute_ci(str(task_file))
    assert (code, result["error"]["type"]) == (1, "InternalError") and "observer bug" in result["error"]["message"]
    assert result["num_turns"] == 1 and result["usage"]["output_tokens"] > 0 and result["total_cost_usd"] > 0
    row = history_row(isolated_home, result["run_id"])
    assert (row["num_turns"], row["output_tokens"]) == (1, result["usage"]["output_tokens"])


def test_a_secret_split_between_two_text_blocks_stays_out_of_the_log(
    fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", "tok-9f8e7d6c5b4a3921")
    blocks = ({"type": "text", "text": "the token is tok-9f8e"}, {"type": "text", "text": "7d6c5b4a3921."})
    fake_api.enqueue(FakeResponse("message", blocks))
    code, out, err = run_cli("execute", str(task_file), "--ci")
    assert code == 0
    for blob in [out.encode(), err.encode(), *stored_files(isolated_home)]:
        assert b"tok-9f8e" not in blob and b"7d6c5b4a3921" not in blob


EARLY_SIGTERM = """
import os, signal, sys
from bassi_ci.runs.redact import Redactor
real = Redactor.from_environ.__func__
def sigterm_on_first_call(cls, environ=None):
    if not getattr(cls, "signalled", False):
        cls.signalled = True
        os.kill(os.getpid(), signal.SIGTERM)
    return real(cls, environ)
Redactor.from_environ = classmethod(sigterm_on_first_call)
from bassi_ci.cli import main
main(sys.argv[1:])
"""


def test_sigterm_while_execute_starts_up_still_gives_a_result(workspace: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", EARLY_SIGTERM, "execute", "--prompt", "hi", "--ci"],
        cwd=workspace,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 130, child.stderr
    assert check_result(child.stdout)["status"] == "interrupted"


def test_a_task_with_the_id_adhoc_still_runs_one_at_a_time(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    (workspace / "adhoc.yaml").write_text("id: adhoc\nname: Adhoc\nprompt: hi\n")
    fake_api.enqueue(text("an ad-hoc prompt is not locked"))
    with task_lock("adhoc", wait=False):
        assert execute_ci("adhoc.yaml")[1]["status"] == "locked"
        assert execute_ci("--prompt", "hi")[1]["status"] == "success"


def test_a_recording_keeps_no_secret(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "tok-9f8e7d6c5b4a3921"
    monkeypatch.setenv("DEPLOY_TOKEN", secret)
    fake_api.enqueue(tool_use(("bash", {"command": "echo $DEPLOY_TOKEN"})), text(f"The token is {secret}."))
    recording = workspace.parent / "rec.json"
    assert execute_ci("--prompt", "go", "--record", str(recording))[0] == 0
    assert secret not in recording.read_text() and "[REDACTED]" in recording.read_text()


def test_an_unusable_bassi_home_is_a_clear_error(
    fake_api: FakeMessagesAPI, task_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "not-a-folder"
    home.write_text("")
    monkeypatch.setenv("BASSI_HOME", str(home))
    for args in (["--prompt", "hi"], [str(task_file)]):
        code, result, _ = execute_ci(*args)
        assert code == 1 and result["error"]["type"] in ("StoreError", "HistoryError")
        assert str(home) in result["error"]["message"] and "unexpected" not in result["error"]["message"]
    assert fake_api.requests == []


def test_a_corrupt_history_is_a_clear_error(fake_api: FakeMessagesAPI, workspace: Path, isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "state.db").write_bytes(b"not a database\n" * 200)
    code, result, _ = execute_ci("--prompt", "hi")
    assert (code, result["error"]["type"]) == (1, "HistoryError")
    assert str(isolated_home / "state.db") in result["error"]["message"]


# --------------------------------------------------------------------------- everyday edges (issue #8)


@pytest.mark.parametrize("value", ["0", "0m", "-5", "604801", "169h", "soon"])
def test_timeout_follows_the_task_files_rule(workspace: Path, value: str) -> None:
    code, result, _ = execute_ci("--prompt", "x", "--timeout", value)
    assert (code, result["status"]) == (2, "usage_error")
    assert "at most 7 days" in result["error"]["message"] and repr(value) in result["error"]["message"]
    task = workspace / "t.yaml"
    task.write_text(f"id: t\nprompt: x\nlimits:\n  timeout: {value if value.isdigit() else repr(value)}\n")
    code, result, _ = execute_ci(str(task))
    assert (code, result["status"]) == (2, "usage_error")  # the same values are refused in a task file


def test_without_ci_a_failure_is_reported_on_stderr(workspace: Path) -> None:
    code, out, err = run_cli("execute", "nosuch-task")
    assert code == 2 and out == ""
    assert "usage_error (exit 2)" in err and "nosuch-task" in err


def test_a_reader_that_goes_away_does_not_change_the_run(
    fake_api: FakeMessagesAPI, task_file: Path, workspace: Path, isolated_home: Path
) -> None:
    """`bassi execute … | head -1`: the pipe closes after the first line; the run, its history row
    and its exit code stay what they were."""
    fake_api.enqueue(
        tool_use(("bash", {"command": "seq 1 3000"}), text="Counting.\n" * 50), text("Done.\n" * 200 + "all good")
    )
    script = f'{sys.executable} -m bassi_ci execute {task_file} | head -1; echo "rc=${{PIPESTATUS[0]}}"'
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=workspace,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout.splitlines()[-1] == "rc=0", proc.stderr
    assert "BrokenPipe" not in proc.stderr and "Traceback" not in proc.stderr
    _, out, _ = run_cli("history", "weekly", "--json")
    assert json.loads(out)[0]["status"] == "success"


def test_bare_bassi_prints_its_help_and_exits_0() -> None:
    code, out, err = run_cli()
    assert code == 0 and out.startswith("Usage: bassi") and "schedule" in out and err == ""


# --------------------------------------------------------------------------- limits from the task file


def limited_task(workspace: Path, limits: str, *, model: str = "claude-haiku-4-5") -> Path:
    """A task file whose `limits:` line is `limits` (flow YAML), run with a model of known price."""
    path = workspace / "limited.yaml"
    path.write_text(f"id: limited\nname: Limited\nprompt: Do the work\nmodel: {model}\nlimits: {limits}\n")
    return path


def turns(count: int) -> list[FakeResponse]:
    """A script of `count` turns: count - 1 harmless bash calls, then a final answer."""
    return [*(tool_use(("bash", {"command": "true"})) for _ in range(count - 1)), text("done")]


@pytest.mark.parametrize(("script_turns", "expected"), [(3, (5, "limit_reached", 2)), (2, (0, "success", 2))])
def test_max_turns_of_the_task_file_stops_the_run_only_when_reached(
    fake_api: FakeMessagesAPI,
    workspace: Path,
    isolated_home: Path,
    script_turns: int,
    expected: tuple[int, str, int],
) -> None:
    fake_api.enqueue(*turns(script_turns))
    code, result, _ = execute_ci(str(limited_task(workspace, "{max_turns: 2}")))
    assert (code, result["status"], result["num_turns"]) == expected
    assert len(fake_api.requests) == 2  # the third call is never made
    if code == 5:
        assert result["error"]["type"] == "LimitReached" and "max_turns reached" in result["error"]["message"]
        assert history_row(isolated_home, result["run_id"])["status"] == "limit_reached"
    else:
        assert result["error"] is None and result["result"] == "done"


# claude-haiku-4-5 costs $1 per million input tokens: 1,000 input tokens cost exactly $0.001.
THOUSAND_INPUT_TOKENS = {"input_tokens": 1000, "output_tokens": 0}


@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        ("0.001", (5, "limit_reached", 1)),  # cost == budget: reached (`>=`), no second call
        ("0.0011", (0, "success", 2)),  # just above the cost of the first turn: it goes on
        ("0.0005", (5, "limit_reached", 1)),  # the first call is always made: the check is before each new one
    ],
)
def test_max_budget_of_the_task_file_stops_at_the_boundary(
    fake_api: FakeMessagesAPI, workspace: Path, budget: str, expected: tuple[int, str, int]
) -> None:
    fake_api.enqueue(
        tool_use(("bash", {"command": "true"}), usage=THOUSAND_INPUT_TOKENS), text("done", usage=THOUSAND_INPUT_TOKENS)
    )
    code, result, _ = execute_ci(str(limited_task(workspace, f"{{max_budget_usd: {budget}, max_turns: 10}}")))
    assert (code, result["status"], result["num_turns"]) == expected
    assert len(fake_api.requests) == result["num_turns"]
    assert result["usage"]["input_tokens"] == 1000 * result["num_turns"]
    assert result["total_cost_usd"] == pytest.approx(0.001 * result["num_turns"])
    if code == 5:
        message = result["error"]["message"]
        assert "max_budget_usd reached" in message and f"${float(budget):.4f}" in message


def test_the_budget_check_compares_the_exact_cost_with_the_budget() -> None:
    """The boundary test above needs a cost that equals its budget as floats, not nearly."""
    from bassi_ci.agent.loop import Usage
    from bassi_ci.agent.pricing import cost_usd

    assert cost_usd("claude-haiku-4-5", Usage(input_tokens=1000)) == 0.001


@pytest.mark.parametrize("timeout", ["2", "2s"])
def test_timeout_of_the_task_file_cuts_a_long_command(
    fake_api: FakeMessagesAPI, workspace: Path, isolated_home: Path, timeout: str
) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "sleep 30; echo never > never.txt"})), text("too late"))
    started = time.monotonic()
    code, result, _ = execute_ci(str(limited_task(workspace, f"{{timeout: {timeout}}}")))
    elapsed = time.monotonic() - started
    assert (code, result["status"], result["error"]["type"]) == (4, "timeout", "RunTimeout")
    assert elapsed < 10 and 1900 <= result["duration_ms"] < 10_000
    assert not (workspace / "never.txt").exists()
    assert history_row(isolated_home, result["run_id"])["status"] == "timeout"
    start = json.loads(Path(result["log_path"]).read_text().splitlines()[0])
    assert (start["event"], start["timeout_s"]) == ("run_start", 2)


def test_timeout_of_the_task_file_lets_a_run_within_it_finish(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "sleep 1; echo made it > done.txt"})), text("done"))
    code, result, _ = execute_ci(str(limited_task(workspace, "{timeout: 10}")))
    assert (code, result["status"]) == (0, "success")
    assert (workspace / "done.txt").read_text() == "made it\n"


# --------------------------------------------------------------------------- template variables in the task's zone


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # 20:30 UTC on Wednesday 10 March is already Thursday morning in Auckland (NZDT, UTC+13)
        ("Pacific/Auckland", "2027-03-10T20:30:00+00:00", "2027-03-11 Thursday 09:30"),
        # 03:00 UTC on Wednesday 10 March is still Tuesday evening in Los Angeles (PST, UTC-8)
        ("America/Los_Angeles", "2027-03-10T03:00:00+00:00", "2027-03-09 Tuesday 19:00"),
    ],
)
def test_template_dates_are_those_of_the_tasks_zone_across_a_date_boundary(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch, zone: str, now: str, expected: str
) -> None:
    monkeypatch.setenv("BASSI_NOW", now)
    path = workspace / "zoned.yaml"
    path.write_text(f"id: zoned\nname: Zoned\ntimezone: {zone}\nprompt: 'Report of {{date}} {{weekday}} {{time}}'\n")
    fake_api.enqueue(text("done"))
    code, result, _ = execute_ci(str(path))
    assert code == 0
    prompt = fake_api.requests[0].body["messages"][0]["content"][0]["text"]
    assert prompt == f"Report of {expected}"
    assert result["started_at"].startswith(now[:16])  # the pinned instant really was the run's "now"
