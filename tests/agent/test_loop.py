"""The tool-use loop, end to end: real SDK, real HTTP, the fake Messages API, real files and processes."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bassi_ci.agent.loop import FAILURE_MARKER, AgentOutcome, Usage
from bassi_ci.agent.pricing import cost_usd
from bassi_ci.agent.tools.editor import EditorTool
from bassi_ci.errors import ExitCode
from tests.agent.helpers import (
    MODEL,
    RecordingObserver,
    alive,
    make_request,
    run,
    tool_results,
    wait_gone,
)
from tests.fakeapi import FakeMessagesAPI, slow, text, tool_use

EDIT = "str_replace_based_edit_tool"


def test_multi_turn_run_edits_files_and_runs_bash(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(
        tool_use((EDIT, {"command": "create", "path": "notes/report.md", "file_text": "# Report\nstatus: draft\n"})),
        tool_use(
            (EDIT, {"command": "str_replace", "path": "notes/report.md", "old_str": "draft", "new_str": "final"}),
            (EDIT, {"command": "insert", "path": "notes/report.md", "insert_line": 1, "new_str": "author: bassi"}),
            text="Editing the report.",
        ),
        tool_use(("bash", {"command": "wc -l notes/report.md && echo made-by-bash > out.txt"})),
        tool_use((EDIT, {"command": "view", "path": "notes/report.md"})),
        text("Report written."),
    )
    observer = RecordingObserver()

    outcome = run(make_request(workspace), observer=observer)

    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert outcome.error is None
    assert (workspace / "notes/report.md").read_text() == "# Report\nauthor: bassi\nstatus: final\n"
    assert (workspace / "out.txt").read_text() == "made-by-bash\n"
    assert outcome.final_text == "Report written."
    assert outcome.num_turns == 5 == len(fake_api.requests)
    assert outcome.files_changed == ["notes/report.md", "out.txt"]
    assert outcome.permission_denials == []
    # what the model was told after each tool call
    bash_result = tool_results(fake_api.requests[3].body)[0]
    assert "3 notes/report.md" in bash_result["content"] and not bash_result.get("is_error")
    view_result = tool_results(fake_api.requests[4].body)[0]["content"]
    assert "2: author: bassi" in view_result
    # streamed text and one response event per turn reached the observer
    assert "".join(observer.of("text")) == "Editing the report.Report written."
    assert [turn for turn, _ in observer.of("response")] == [1, 2, 3, 4, 5]
    assert [name for name, _ in observer.of("tool_call")] == [EDIT, EDIT, EDIT, "bash", EDIT]
    assert outcome.duration_api_ms > 0


def test_tools_offered_are_the_anthropic_defined_types(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(text("ok"))
    run(make_request(workspace))
    tools = fake_api.requests[0].body["tools"]
    assert [(t.get("type"), t["name"]) for t in tools] == [
        ("bash_20250124", "bash"),
        ("text_editor_20250728", EDIT),
        (None, "ask_user"),
    ]
    assert tools[2]["input_schema"]["required"] == ["question"]
    assert fake_api.requests[0].body["stream"] is True


def test_max_turns_stops_before_the_next_call(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(*[tool_use(("bash", {"command": f"echo {n} >> turns.txt"})) for n in range(5)])

    outcome = run(make_request(workspace, max_turns=2))

    assert outcome.exit_code is ExitCode.LIMIT_REACHED
    assert len(fake_api.requests) == 2 == outcome.num_turns
    assert "max_turns" in str(outcome.error)
    assert (workspace / "turns.txt").read_text() == "0\n1\n"


def test_budget_is_checked_from_reported_usage(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    # claude-sonnet-5-5: $2 per million input tokens, so each turn costs $2 + $0.10.
    usage = {"input_tokens": 1_000_000, "output_tokens": 10_000}
    fake_api.enqueue(*[tool_use(("bash", {"command": "true"}), usage=usage) for _ in range(4)])

    outcome = run(make_request(workspace, max_budget_usd=3.0))

    assert outcome.exit_code is ExitCode.LIMIT_REACHED
    assert len(fake_api.requests) == 2
    assert outcome.total_cost_usd == pytest.approx(4.2)
    assert "max_budget_usd" in str(outcome.error)


@pytest.mark.parametrize(("budget", "calls"), [(4.0, 2), (4.000001, 3)])
def test_a_budget_equal_to_the_cost_so_far_is_reached(
    fake_api: FakeMessagesAPI, workspace: Path, budget: float, calls: int
) -> None:
    # claude-sonnet-5-5: $2 per million input tokens, so two turns cost exactly $4.00.
    usage = {"input_tokens": 1_000_000, "output_tokens": 0}
    fake_api.enqueue(*[tool_use(("bash", {"command": "true"}), usage=usage) for _ in range(3)], text("done"))

    outcome = run(make_request(workspace, max_budget_usd=budget))

    assert len(fake_api.requests) == calls == outcome.num_turns
    assert outcome.total_cost_usd == 2.0 * calls
    assert outcome.exit_code is ExitCode.LIMIT_REACHED  # the third turn, too, ends at the budget
    assert "max_budget_usd reached" in str(outcome.error)


def test_slow_api_hits_the_deadline(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(slow(10, text("too late")), text("never"), text("never"))
    started = time.monotonic()

    outcome = run(make_request(workspace, deadline=time.monotonic() + 1.0))

    assert outcome.exit_code is ExitCode.TIMEOUT, outcome.error
    assert time.monotonic() - started < 5  # the server would answer after 10 s
    assert outcome.num_turns == 0
    assert len(fake_api.requests) == 1, "a timeout at the deadline is not retried"


def test_long_bash_command_hits_the_deadline_and_its_group_is_killed(
    fake_api: FakeMessagesAPI, workspace: Path
) -> None:
    command = "echo $$ > leader.pid; (sleep 30 & echo $! > child.pid; wait)"
    fake_api.enqueue(tool_use(("bash", {"command": command})), text("never reached"))
    started = time.monotonic()

    outcome = run(make_request(workspace, deadline=time.monotonic() + 1.5))

    assert outcome.exit_code is ExitCode.TIMEOUT, outcome.error
    assert time.monotonic() - started < 5
    assert len(fake_api.requests) == 1
    for name in ("leader.pid", "child.pid"):
        pid = int((workspace / name).read_text())
        assert wait_gone(pid), f"{name} process {pid} still runs"


def test_per_command_timeout_is_reported_to_the_model(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "echo started; sleep 20"})), text("gave up on it"))

    outcome = run(make_request(workspace, bash_timeout_s=0.5))

    assert outcome.exit_code is ExitCode.SUCCESS
    result = tool_results(fake_api.requests[1].body)[0]
    assert result["is_error"] is True
    assert "started" in result["content"] and "timed out after 0.5 s" in result["content"]


def test_background_jobs_are_killed_when_the_run_ends(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "sleep 30 & echo $! > bg.pid"})), text("done"))
    started = time.monotonic()

    outcome = run(make_request(workspace))

    assert outcome.exit_code is ExitCode.SUCCESS
    assert time.monotonic() - started < 5, "the background job must not hold the command open"
    assert wait_gone(int((workspace / "bg.pid").read_text()))


def test_bash_does_not_see_the_api_key(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "echo key=${ANTHROPIC_API_KEY:-none}"})), text("ok"))
    run(make_request(workspace))
    assert tool_results(fake_api.requests[1].body)[0]["content"].strip() == "key=none"


def test_large_bash_output_is_cut_with_a_note(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    command = "for i in $(seq 1 20000); do echo line$i; done"
    fake_api.enqueue(tool_use(("bash", {"command": command})), text("ok"))

    outcome = run(make_request(workspace, max_tool_output_chars=2_000))

    assert outcome.exit_code is ExitCode.SUCCESS
    content = tool_results(fake_api.requests[1].body)[0]["content"]
    full = "".join(f"line{i}\n" for i in range(1, 20001))
    assert f"{len(full) - 2_000} characters cut" in content
    assert content.startswith("line1\n") and content.rstrip().endswith("line20000")
    assert len(content) < 2_200


def test_paths_outside_the_workspace_are_refused(fake_api: FakeMessagesAPI, workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    (workspace / "link").symlink_to(outside)
    fake_api.enqueue(
        tool_use(
            (EDIT, {"command": "create", "path": "../escaped.txt", "file_text": "x"}),
            (EDIT, {"command": "create", "path": str(outside / "abs.txt"), "file_text": "x"}),
            (EDIT, {"command": "create", "path": "link/via-symlink.txt", "file_text": "x"}),
            (EDIT, {"command": "str_replace", "path": "link/secret.txt", "old_str": "secret", "new_str": "owned"}),
            (EDIT, {"command": "view", "path": "link/secret.txt"}),
            (EDIT, {"command": "create", "path": str(workspace / "inside.txt"), "file_text": "fine"}),
        ),
        text("done"),
    )

    outcome = run(make_request(workspace))

    assert outcome.exit_code is ExitCode.SUCCESS
    results = tool_results(fake_api.requests[1].body)
    assert [bool(r.get("is_error")) for r in results] == [True, True, True, True, True, False]
    assert all("outside the workspace" in r["content"] for r in results[:5])
    assert "secret" not in results[4]["content"].replace("secret.txt", "")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret\n"
    assert not (tmp_path / "escaped.txt").exists()
    assert (workspace / "inside.txt").read_text() == "fine"
    assert outcome.files_changed == ["inside.txt"]


def test_a_tool_not_allowed_is_refused_and_recorded(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(
        tool_use(("bash", {"command": "touch should-not-exist"}), ("web_search", {"query": "x"})),
        text("ok, without bash"),
    )

    outcome = run(make_request(workspace, allowed_tools=(EDIT,)))

    assert outcome.exit_code is ExitCode.SUCCESS
    assert not (workspace / "should-not-exist").exists()
    assert [t["name"] for t in fake_api.requests[0].body["tools"]] == [EDIT]
    denials = outcome.permission_denials
    assert [d["tool_name"] for d in denials] == ["bash", "web_search"]
    assert denials[0]["tool_input"] == {"command": "touch should-not-exist"}
    first_call = fake_api.requests[1].body["messages"][1]["content"][0]
    assert denials[0]["tool_use_id"] == first_call["id"]
    assert all(r["is_error"] for r in tool_results(fake_api.requests[1].body))
    assert "not allowed" in str(denials[0]["reason"])


def test_ask_user_in_ci_ends_with_needs_input(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(tool_use(("ask_user", {"question": "Which branch should I use?"})), text("never"))

    outcome = run(make_request(workspace, interactive=False))

    assert outcome.exit_code is ExitCode.NEEDS_INPUT
    assert outcome.question == "Which branch should I use?"
    assert len(fake_api.requests) == 1


def test_ask_user_interactive_asks_the_observer(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(tool_use(("ask_user", {"question": "Colour?"})), text("Painted it blue."))
    observer = RecordingObserver(answers=["blue"])

    outcome = run(make_request(workspace, interactive=True), observer=observer)

    assert outcome.exit_code is ExitCode.SUCCESS
    assert observer.of("ask") == ["Colour?"]
    assert tool_results(fake_api.requests[1].body)[0]["content"] == "blue"


@pytest.mark.parametrize(
    ("reply", "stop_reason"),
    [(f"{FAILURE_MARKER} the repository has no tests", "end_turn"), ("The answer is", "max_tokens")],
)
def test_failed_outcomes(fake_api: FakeMessagesAPI, workspace: Path, reply: str, stop_reason: str) -> None:
    fake_api.enqueue(text(reply, stop_reason=stop_reason))
    outcome = run(make_request(workspace))
    assert outcome.exit_code is ExitCode.FAILED
    assert outcome.final_text == reply


def test_cache_breakpoints_cover_tools_system_and_history(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(
        tool_use(("bash", {"command": "echo one"})), tool_use(("bash", {"command": "echo two"})), text("ok")
    )
    run(make_request(workspace, system_prompt="Be brief."))

    for request in fake_api.requests:
        body = request.body
        assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
        assert all("cache_control" not in t for t in body["tools"][:-1])
        assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert body["system"][0]["text"].endswith("Be brief.")
        marked = [block for message in body["messages"] for block in message["content"] if "cache_control" in block]
        assert marked == [body["messages"][-1]["content"][-1]]
        assert json.dumps(body).count("cache_control") <= 4
    # turn 3 re-reads what turn 2 cached
    assert fake_api.usages[1]["cache_read_input_tokens"] > 0
    assert fake_api.usages[2]["cache_read_input_tokens"] > fake_api.usages[1]["cache_read_input_tokens"]


def test_usage_and_cost_are_summed_over_turns(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(
        tool_use(("bash", {"command": "echo a"})),
        tool_use(
            ("bash", {"command": "echo b"}),
            usage={
                "input_tokens": 50,
                "output_tokens": 700,
                "cache_creation_input_tokens": 2_000,
                "cache_read_input_tokens": 30_000,
            },
        ),
        text("done"),
    )

    outcome = run(make_request(workspace))

    expected = Usage()
    for served in fake_api.usages:
        expected.add(served)
    assert outcome.usage == expected
    assert expected.cache_read_input_tokens >= 30_000 and expected.cache_creation_input_tokens > 2_000
    assert outcome.total_cost_usd == pytest.approx(cost_usd(MODEL, expected))
    by_hand = (
        expected.input_tokens * 2.0
        + expected.output_tokens * 10.0
        + expected.cache_creation_input_tokens * 2.5
        + expected.cache_read_input_tokens * 0.10
    ) / 1e6
    assert outcome.total_cost_usd == pytest.approx(by_hand)


def test_interrupt_returns_partial_stats_and_kills_children(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "sleep 30 & echo $! > bg.pid"})), text("never"))

    class InterruptOnSecondRequest(RecordingObserver):
        def on_request(self, turn: int, meta: dict[str, object]) -> None:
            if turn == 2:
                raise KeyboardInterrupt
            super().on_request(turn, meta)

    outcome: AgentOutcome = run(make_request(workspace), observer=InterruptOnSecondRequest())

    assert outcome.exit_code is ExitCode.INTERRUPTED
    assert outcome.num_turns == 1 and outcome.usage.output_tokens > 0
    assert wait_gone(int((workspace / "bg.pid").read_text()))


def test_loop_module_does_not_import_the_sdk() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import bassi_ci.agent.loop"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()]
    assert not [name for name in imported if name.split(".")[0] in ("anthropic", "httpx", "httpx2")]


def test_sigint_during_a_bash_command_stops_the_run_quickly(fake_api: FakeMessagesAPI, tmp_path: Path) -> None:
    # The signal lands at a random moment inside the tool's wait; repeat to hit more of them.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for attempt in range(5):
            workspace = tmp_path / f"ws{attempt}"
            workspace.mkdir()
            fake_api.enqueue(tool_use(("bash", {"command": "echo $$ > bash.pid; exec sleep 30"})))
            pid_file = workspace / "bash.pid"

            def interrupt(pid_file: Path = pid_file) -> None:
                end = time.monotonic() + 10
                while not pid_file.exists() and time.monotonic() < end:
                    time.sleep(0.005)
                time.sleep(random.uniform(0, 0.1))
                os.kill(os.getpid(), signal.SIGINT)

            sender = threading.Thread(target=interrupt)
            sender.start()
            started = time.monotonic()
            outcome = run(make_request(workspace))
            sender.join()

            assert outcome.exit_code is ExitCode.INTERRUPTED, outcome.error
            # The guarded failure is a hang (the sleep lasts 30 s); leave room for a loaded CI machine.
            assert time.monotonic() - started < 15
            assert wait_gone(int(pid_file.read_text()))
    finally:
        signal.signal(signal.SIGINT, previous)


def test_nul_bytes_in_tool_input_are_told_to_the_model(fake_api: FakeMessagesAPI, workspace: Path) -> None:
    fake_api.enqueue(
        tool_use(
            ("bash", {"command": "echo a\0b"}),
            (EDIT, {"command": "create", "path": "a\0b.txt", "file_text": "x"}),
            (EDIT, {"command": "view", "path": "notes\0.md"}),
        ),
        text("Done anyway."),
    )

    outcome = run(make_request(workspace))

    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert outcome.num_turns == 2 and outcome.usage.input_tokens > 0
    results = tool_results(fake_api.requests[1].body)
    assert [r.get("is_error") for r in results] == [True, True, True]
    assert all("null byte" in r["content"] for r in results)


def test_a_crashing_tool_is_a_tool_error_and_the_run_goes_on(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(self: EditorTool, tool_input: dict[str, object]) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(EditorTool, "__call__", crash)
    fake_api.enqueue(tool_use((EDIT, {"command": "view", "path": "."})), text("Carried on."))

    outcome = run(make_request(workspace))

    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert outcome.final_text == "Carried on."
    result = tool_results(fake_api.requests[1].body)[0]
    assert result["is_error"] is True and "RuntimeError: disk on fire" in result["content"]


def test_processes_that_leave_the_process_group_are_killed_at_the_end(
    fake_api: FakeMessagesAPI, workspace: Path
) -> None:
    detach = (
        "(setsid sh -c 'echo $$ > escaped.pid; exec sleep 300' >/dev/null 2>&1 &); "
        "while [ ! -s escaped.pid ]; do sleep 0.01; done"
    )
    fake_api.enqueue(tool_use(("bash", {"command": detach})), text("done"))

    outcome = run(make_request(workspace))

    escaped = int((workspace / "escaped.pid").read_text())
    try:
        assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
        assert wait_gone(escaped), "a setsid'd, double-forked process survived the run"
    finally:
        if alive(escaped):
            with contextlib.suppress(ProcessLookupError):
                os.kill(escaped, signal.SIGKILL)


@pytest.mark.parametrize("bogus", [-1000, True, 2.5, "7", None, [1]])
def test_usage_ignores_negative_and_non_integer_counts(bogus: object) -> None:
    usage = Usage(input_tokens=10)
    usage.add({name: bogus for name in Usage().as_dict()})
    assert usage == Usage(input_tokens=10)
