"""Starts one stdio MCP server for bassi, run as a script:

    python -I -S mcp_launcher.py PARENT_PID COMMAND [ARGS...]

It asks the kernel to SIGKILL it when the thread that started it ends (Linux prctl
PR_SET_PDEATHSIG, which survives exec), then becomes COMMAND with execvp: same pid, same
session and process group, same pipes. That thread is bassi's MCP event-loop thread, which lives
until every server of the run has been stopped, so a server outlives bassi only where the
platform has no PR_SET_PDEATHSIG — even when bassi is killed with SIGKILL, and even for a server
that ignores the end of its input. (The bash tool cannot rely on this: its commands may be
started from threads that end before the run does; see containment.py.)

Standard library only, and nothing but what Python loads at start-up anyway plus ctypes: it runs
before every stdio server.
"""

from __future__ import annotations

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def ask_for_death_signal() -> None:
    """SIGKILL this process when its parent thread ends (Linux only; elsewhere nothing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main(argv: list[str]) -> int:
    parent, command = int(argv[0]), argv[1:]
    ask_for_death_signal()
    if os.getppid() != parent:  # bassi was gone before the request took effect
        return 1
    try:
        os.execvp(command[0], command)
    except OSError as problem:
        print(f"cannot start {command[0]}: {problem.strerror or problem}", file=sys.stderr, flush=True)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
