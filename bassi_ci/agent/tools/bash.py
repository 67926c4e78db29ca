"""The `bash` tool: each command runs as `bash -c` in the workspace, in its own session.

Each command is a fresh shell (state such as `cd` or variables does not carry over), with
stdin closed and stdout+stderr written to one temporary file, so a background job that
keeps running does not hold the command open. The API key variables, the GitHub runner's
file commands (GITHUB_ENV, …) and its tokens are removed from the commands' environment.

Every command runs under a supervisor (containment.py) that stays the ancestor of all the
processes it starts, however they detach (new session, own process group, cleared
environment, double fork): a background job may run on between commands, but a command
that outlives its time is stopped with everything it started (SIGTERM, then SIGKILL), and
close() at the end of the run stops the rest. If bassi dies, even by SIGKILL, each
supervisor stops its processes by itself. As further layers close() also kills the
processes bassi adopted as a subreaper (the agent killed a supervisor), the process
groups of commands whose supervisor did not end cleanly, and processes that carry the
run's marker variable in their environment.

Cleanup never blocks for long: waits are bounded, and an interrupt (SIGINT/SIGTERM become
KeyboardInterrupt) while a command runs stops that command's processes and passes on.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import IO

from bassi_ci.agent.tools import ToolResult, cut_output
from bassi_ci.agent.tools.containment import Supervised, SupervisorLost, become_subreaper, kill_adopted, kill_marked
from bassi_ci.envnames import ALWAYS_SECRET, RUNNER_FILE_COMMANDS, RUNNER_TOKENS
from bassi_ci.errors import RunTimeout
from bassi_ci.signals import interrupts_deferred

_READ_LIMIT_BYTES = 8 * 1024 * 1024
_STOP_S = 3.0  # a stopped supervisor gets this long (grace + SIGKILL rounds) before it is killed
# The API key, the GitHub runner's file commands and its tokens: never in a command's environment.
HIDDEN_FROM_COMMANDS = frozenset((*ALWAYS_SECRET, *RUNNER_FILE_COMMANDS, *RUNNER_TOKENS))
# Set in every command's environment; processes that carry it belong to this run.
MARKER_ENV = "BASSI_BASH_SESSION"


class BashTool:
    def __init__(self, workdir: Path, *, timeout_s: float, max_output_chars: int) -> None:
        self.workdir = workdir
        self.timeout_s = timeout_s
        self.max_output_chars = max_output_chars
        self._commands: list[Supervised] = []  # supervisors that may still run
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
        become_subreaper()
        self._commands = [supervised for supervised in self._commands if not supervised.finished()]
        with tempfile.TemporaryFile() as output:
            try:
                supervised = Supervised.start(["bash", "-c", command], cwd=self.workdir, env=env, output=output)
            except (OSError, ValueError) as problem:  # ValueError: a NUL byte in the command
                return ToolResult(f"could not start bash in {self.workdir}: {problem}", True)
            self._started = True
            self._commands.append(supervised)
            try:
                returncode = supervised.wait(limit)
            except SupervisorLost:
                note = "\n[the command's supervisor was killed; its processes will be stopped at the end of the run]"
                return ToolResult(cut_output(_read(output), self.max_output_chars) + note, True)
            except BaseException:
                _stop(supervised)
                raise
            if returncode is None:
                _stop(supervised)
                if cut_by_deadline:
                    raise RunTimeout(
                        "the run's time limit was reached while a bash command was running; its processes were stopped"
                    ) from None
                text = _read(output)
                note = f"\n[command timed out after {limit:g} s; its processes were stopped]"
                return ToolResult(cut_output(text, self.max_output_chars) + note, True)
            text = _read(output)
        if returncode != 0:
            text += f"\n[exit code: {returncode}]"
        return ToolResult(cut_output(text, self.max_output_chars) or "(no output)")

    def close(self) -> None:
        """Stop every process started by this tool that is still running (waits a few
        seconds at most). A second interrupt cannot cut this short."""
        with interrupts_deferred():
            commands, self._commands = self._commands, []
            for supervised in commands:
                supervised.stop()
            until = time.monotonic() + _STOP_S
            for supervised in commands:
                supervised.finish(until)
            if self._started:
                kill_adopted()
                kill_marked(f"{MARKER_ENV}={self._marker}".encode())


def _stop(supervised: Supervised) -> None:
    """Stop one command's processes, waiting for its supervisor a few seconds at most."""
    supervised.stop()
    supervised.finish(time.monotonic() + _STOP_S)


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
