"""The `bash` tool: each command runs as `bash -c` in the workspace, in its own process group.

Each command is a fresh shell (state such as `cd` or variables does not carry over), with
stdin closed and stdout+stderr written to one temporary file, so a background job that
keeps running does not hold the command open. A command that outlives its time is stopped
with its whole process group (SIGTERM, then SIGKILL); every group started during the run
is killed again by close() at the end of the run, which catches background jobs. Processes
that left their group (`setsid`, daemons) are found by a marker variable in their
environment (Linux /proc) and killed too. The API key variables, the GitHub runner's
file commands (GITHUB_ENV, …) and its tokens are removed from the commands' environment.

Cleanup never blocks: an interrupt (SIGINT/SIGTERM become KeyboardInterrupt) can land inside
Popen.wait() while it holds its private lock, after which another wait() would hang for
ever, so the killed leader is reaped with a bounded os.waitpid() loop instead.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from bassi_ci.agent.tools import ToolResult, cut_output
from bassi_ci.errors import RunTimeout
from bassi_ci.runs.ci import RUNNER_FILE_COMMANDS, RUNNER_TOKENS
from bassi_ci.runs.redact import ALWAYS_SECRET

_READ_LIMIT_BYTES = 8 * 1024 * 1024
_GRACE_S = 0.3
_REAP_S = 2.0
# The API key, the GitHub runner's file commands and its tokens: never in a command's environment.
HIDDEN_FROM_COMMANDS = frozenset((*ALWAYS_SECRET, *RUNNER_FILE_COMMANDS, *RUNNER_TOKENS))
# Set in every command's environment; processes that carry it belong to this run.
MARKER_ENV = "BASSI_BASH_SESSION"


class BashTool:
    def __init__(self, workdir: Path, *, timeout_s: float, max_output_chars: int) -> None:
        self.workdir = workdir
        self.timeout_s = timeout_s
        self.max_output_chars = max_output_chars
        self._groups: set[int] = set()
        self._marker = secrets.token_hex(8)
        self._started = False

    def __call__(self, tool_input: dict[str, object], deadline: float | None) -> ToolResult:
        if tool_input.get("restart"):
            self.close()
            return ToolResult("tool has been restarted.")
        command = tool_input.get("command")
        if not isinstance(command, str) or not command.strip():
            return ToolResult("bash needs a non-empty `command` string (or `restart: true`).", True)
        return self.run(command, deadline)

    def run(self, command: str, deadline: float | None) -> ToolResult:
        limit = self.timeout_s
        cut_by_deadline = False
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RunTimeout("the run's time limit was reached before a bash command could start")
            if remaining < limit:
                limit, cut_by_deadline = remaining, True
        env = {name: value for name, value in os.environ.items() if name not in HIDDEN_FROM_COMMANDS}
        env[MARKER_ENV] = self._marker
        with tempfile.TemporaryFile() as output:
            try:
                process = subprocess.Popen(
                    ["bash", "-c", command],
                    cwd=self.workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    env=env,
                )
            except (OSError, ValueError) as problem:  # ValueError: a NUL byte in the command
                return ToolResult(f"could not start bash in {self.workdir}: {problem}", True)
            self._started = True
            self._groups.add(process.pid)
            try:
                returncode = process.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                _kill_group(process.pid, process)
                _reap(process)
                if cut_by_deadline:
                    raise RunTimeout(
                        "the run's time limit was reached while a bash command was running; its processes were stopped"
                    ) from None
                text = _read(output)
                note = f"\n[command timed out after {limit:g} s; its processes were stopped]"
                return ToolResult(cut_output(text, self.max_output_chars) + note, True)
            except BaseException:
                _kill_group(process.pid, process)
                _reap(process)
                raise
            text = _read(output)
        if returncode != 0:
            text += f"\n[exit code: {returncode}]"
        return ToolResult(cut_output(text, self.max_output_chars) or "(no output)")

    def close(self) -> None:
        """Kill every process started by this tool that is still running; never waits."""
        for group in sorted(self._groups):
            _kill_group(group, grace_s=0.0)
        self._groups.clear()
        if self._started:
            _kill_marked(f"{MARKER_ENV}={self._marker}".encode())


def _kill_group(group: int, leader: subprocess.Popen[bytes] | None = None, *, grace_s: float = _GRACE_S) -> None:
    """SIGTERM the group, give the leader `grace_s` to exit, then SIGKILL whatever is left."""
    try:
        os.killpg(group, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    end = time.monotonic() + grace_s
    # poll() does not block on Popen's lock (it reports None while the lock is taken).
    while leader is not None and leader.poll() is None and time.monotonic() < end:
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def _reap(process: subprocess.Popen[bytes], timeout_s: float = _REAP_S) -> None:
    """Collect the killed leader's exit status, giving up after `timeout_s`.

    os.waitpid, not process.wait(): an interrupted wait() may have left Popen's lock taken.
    """
    end = time.monotonic() + timeout_s
    while process.returncode is None:
        try:
            pid, status = os.waitpid(process.pid, os.WNOHANG)
        except ChildProcessError:  # already reaped by the interrupted wait()
            process.returncode = -signal.SIGKILL
            return
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return
        if time.monotonic() >= end:
            return
        time.sleep(0.01)


def _kill_marked(marker: bytes, rounds: int = 5) -> None:
    """SIGKILL every process whose environment holds `marker` (those that left their group).

    Repeated a few times, as a marked process may fork between the scan and the kill.
    Without /proc (macOS) the process groups are all that can be stopped.
    """
    for _ in range(rounds):
        try:
            pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
        except OSError:
            return
        found = False
        for pid in pids:
            try:
                with open(f"/proc/{pid}/environ", "rb") as handle:
                    environ = handle.read().split(b"\0")
            except OSError:  # gone, or not ours to read
                continue
            if marker in environ:
                found = True
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        if not found:
            return


def _read(handle: IO[bytes]) -> str:
    size = handle.seek(0, os.SEEK_END)
    handle.seek(0)
    if size <= _READ_LIMIT_BYTES:
        return handle.read().decode("utf-8", errors="replace")
    half = _READ_LIMIT_BYTES // 2
    head = handle.read(half)
    handle.seek(size - half)
    tail = handle.read(half)
    middle = size - 2 * half
    return (
        head.decode("utf-8", errors="replace")
        + f"\n[... {middle} bytes not read ...]\n"
        + tail.decode("utf-8", errors="replace")
    )
