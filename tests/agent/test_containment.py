"""No process the agent's tools started outlives its run (issue #7, item 2).

Each test scripts the fake Messages API to make the bash tool start a sleeper that detaches
in its own way (new session, cleared environment, double fork, its own process group), then
ends the run one way or another and counts survivors by scanning /proc/*/cmdline for a
marker only that sleeper (and the shells around it) carry. The `markers` fixture kills
whatever still holds a marker when a test ends, so a failing test leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.agent.tools.bash import BashTool
from bassi_ci.errors import ExitCode
from tests.agent.helpers import RecordingObserver, make_request, run, tool_results
from tests.cli import bassi_process, check_result, run_cli
from tests.fakeapi import FakeMessagesAPI, text, tool_use

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the guarantees tested are Linux's")

# Ways to leave the command's process group and session; {m} is the sleeper's marker.
DETACHES = {
    "setsid-env-i-disown": "setsid env -i sleep {m} & disown",
    "double-fork": "( (sleep {m} &) & )",
    "double-fork-own-group-env-i": "set -m; ( (env -i sleep {m} &) & )",
    "nohup-setsid-sh": "nohup setsid sh -c 'sleep {m}' >/dev/null 2>&1 &",
}

Markers = Callable[[int], str]


def holding(marker: str) -> list[int]:
    """Pids of the processes whose command line contains `marker` (zombies have none)."""
    needle = marker.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                if needle in handle.read():
                    found.append(int(name))
        except OSError:
            continue
    return found


def gone_within(marker: str, seconds: float) -> list[int]:
    """Waits until no process holds `marker`; the survivors at the end (empty: all gone)."""
    end = time.monotonic() + seconds
    while (survivors := holding(marker)) and time.monotonic() < end:
        time.sleep(0.05)
    return survivors


@pytest.fixture
def markers() -> Iterator[Markers]:
    """`markers(1111)` gives a fresh marker such as `1111.482913` (a valid sleep duration);
    at teardown every process still holding one of them is killed."""
    made: list[str] = []

    def new(seconds: int) -> str:
        made.append(f"{seconds}.{secrets.randbelow(10**6):06d}")
        return made[-1]

    yield new
    for marker in made:
        for pid in holding(marker):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def started(marker: str) -> str:
    """Shell lines that wait until a process has the argument `marker` (the sleeper runs).
    The pattern does not match itself, so grep does not find its own command line."""
    pattern = marker.replace(".", "[.]")
    return f"until grep -qsxz '{pattern}' /proc/[0-9]*/cmdline; do sleep 0.01; done"


def detach_command(detach: str, marker: str, then: str = "") -> str:
    return "\n".join(line for line in (detach.format(m=marker), started(marker), then) if line)


def execute(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli("execute", "--prompt", "clean up", *args, "--ci")
    result = check_result(out)
    assert result["exit_code"] == code, err
    return code, result


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


# --------------------------------------------------------------------------- runs that end in bassi


@pytest.mark.parametrize("detach", DETACHES.values(), ids=DETACHES.keys())
def test_detached_processes_do_not_outlive_a_successful_run(
    fake_api: FakeMessagesAPI, workspace: Path, markers: Markers, detach: str
) -> None:
    marker = markers(1111)
    fake_api.enqueue(tool_use(("bash", {"command": detach_command(detach, marker)})), text("done"))

    code, result = execute()

    assert code == 0, result["error"]
    assert "[exit code" not in tool_results(fake_api.requests[1].body)[0]["content"]
    assert holding(marker) == [], "a process the agent started outlived the run"


def test_detached_processes_do_not_outlive_a_timeout(
    fake_api: FakeMessagesAPI, workspace: Path, markers: Markers
) -> None:
    marker = markers(1112)
    command = detach_command(DETACHES["setsid-env-i-disown"], marker, then="sleep 30")
    fake_api.enqueue(tool_use(("bash", {"command": command})), text("never reached"))
    started_at = time.monotonic()

    code, result = execute("--timeout", "2")

    assert (code, result["status"]) == (ExitCode.TIMEOUT, "timeout")
    assert time.monotonic() - started_at < 10
    assert holding(marker) == []


def test_detached_processes_do_not_outlive_a_crash(
    fake_api: FakeMessagesAPI, workspace: Path, markers: Markers, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bassi_ci.runs.observers import TranscriptObserver

    def crash(*args: object) -> None:
        raise RuntimeError("a defect in bassi")

    monkeypatch.setattr(TranscriptObserver, "on_tool_result", crash)
    marker = markers(1113)
    fake_api.enqueue(
        tool_use(("bash", {"command": detach_command(DETACHES["double-fork-own-group-env-i"], marker)})),
        text("never reached"),
    )

    code, result = execute()

    assert (code, result["error"]["type"]) == (ExitCode.FAILED, "InternalError")
    assert holding(marker) == []


def test_a_detached_process_runs_on_until_the_run_ends(
    fake_api: FakeMessagesAPI, workspace: Path, markers: Markers
) -> None:
    # Containment must not stop a background server the agent starts for later commands.
    marker = markers(1114)
    pattern = marker.replace(".", "[.]")
    fake_api.enqueue(
        tool_use(("bash", {"command": detach_command(DETACHES["setsid-env-i-disown"], marker)})),
        tool_use(("bash", {"command": f"sleep 0.2; grep -qsxz '{pattern}' /proc/[0-9]*/cmdline && echo running"})),
        text("done"),
    )

    code, _ = execute()

    assert code == 0
    assert tool_results(fake_api.requests[2].body)[0]["content"] == "running\n"
    assert holding(marker) == []


def test_a_timed_out_command_is_stopped_with_what_it_detached(
    fake_api: FakeMessagesAPI, workspace: Path, markers: Markers
) -> None:
    marker = markers(1115)
    command = detach_command(DETACHES["setsid-env-i-disown"], marker, then="sleep 30")
    fake_api.enqueue(tool_use(("bash", {"command": command})), text("gave up"))
    seen: list[list[int]] = []

    class Watch(RecordingObserver):
        def on_tool_result(self, name: str, output: str, is_error: bool) -> None:
            seen.append(holding(marker))

    outcome = run(make_request(workspace, bash_timeout_s=1.0), observer=Watch())

    assert outcome.exit_code is ExitCode.SUCCESS, outcome.error
    assert "timed out after 1 s" in tool_results(fake_api.requests[1].body)[0]["content"]
    assert seen == [[]], "the timed-out command's detached sleeper was still running when the model was told"


def test_bash_gets_the_default_sigpipe(workspace: Path) -> None:
    # The command is started by a Python process, which ignores SIGPIPE; bash must not.
    bash = BashTool(workspace, timeout_s=10, max_output_chars=1_000)
    try:
        result = bash({"command": "yes | head -n 2; trap -p PIPE"}, None)
    finally:
        bash.close()
    assert (result.output, result.is_error) == ("y\ny\n", False)


def test_an_interrupt_while_a_command_runs_stops_it_and_what_it_detached(workspace: Path, markers: Markers) -> None:
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    marker = markers(1116)
    bash = BashTool(workspace, timeout_s=30, max_output_chars=1_000)
    interrupted = False

    def interrupt() -> None:
        end = time.monotonic() + 10
        while not holding(marker) and time.monotonic() < end:
            time.sleep(0.01)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt)
    sender.start()
    try:
        bash({"command": detach_command(DETACHES["setsid-env-i-disown"], marker, then="sleep 30")}, None)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        sender.join()
        signal.signal(signal.SIGINT, previous)
        bash.close()
    assert interrupted
    assert holding(marker) == []


# --------------------------------------------------------------------------- bassi as a child process


def wait_for(path: Path, child: Any, seconds: float = 20) -> None:
    end = time.monotonic() + seconds
    while not path.exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < end, f"{path.name} did not appear"
        time.sleep(0.02)


def test_detached_processes_do_not_outlive_sigterm_to_bassi(
    fake_api: FakeMessagesAPI, workspace: Path, markers: Markers
) -> None:
    marker = markers(1117)
    command = detach_command(DETACHES["setsid-env-i-disown"], marker, then="touch ready; sleep 30")
    fake_api.enqueue(tool_use(("bash", {"command": command})), text("never reached"))
    child = bassi_process("execute", "--prompt", "clean up", "--ci", cwd=workspace)
    try:
        wait_for(workspace / "ready", child)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=20)
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert check_result(out)["status"] == "interrupted"
    assert holding(marker) == []


def test_detached_processes_die_soon_after_bassi_is_killed(
    fake_api: FakeMessagesAPI, workspace: Path, markers: Markers
) -> None:
    marker = markers(1118)
    command = detach_command(DETACHES["setsid-env-i-disown"], marker, then="touch ready; sleep 30")
    fake_api.enqueue(tool_use(("bash", {"command": command})), text("never reached"))
    child = bassi_process("execute", "--prompt", "clean up", "--ci", cwd=workspace)
    try:
        wait_for(workspace / "ready", child)
        assert holding(marker)
    finally:
        child.kill()
        child.communicate(timeout=20)
    killed = time.monotonic()

    assert gone_within(marker, 5.0) == []
    assert time.monotonic() - killed < 5.0


def test_killing_the_commands_parent_does_not_let_its_processes_escape(
    fake_api: FakeMessagesAPI, workspace: Path, markers: Markers
) -> None:
    # The agent may kill whatever started its shell ($PPID) before detaching. Run as a child
    # process: on a bassi without containment, $PPID is bassi itself.
    marker = markers(1119)
    command = detach_command(DETACHES["setsid-env-i-disown"], marker, then="kill -9 $PPID; sleep 0.2")
    fake_api.enqueue(tool_use(("bash", {"command": command})), text("done"))
    child = bassi_process("execute", "--prompt", "clean up", "--ci", cwd=workspace)
    try:
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    survivors = holding(marker)

    assert child.returncode == 0, err
    assert check_result(out)["status"] == "success"
    assert survivors == []
