"""Containment of the bash tool's processes: none outlives the run, however it detaches.

Each bash command runs under a supervisor, a small Python process (supervisor.py, run as a
script with `python -I -S`: standard library only, unaffected by the agent's PYTHON*
variables) that starts `bash -c COMMAND` in a new session and stays the ancestor of
everything the command starts:

- It is a child subreaper (Linux prctl PR_SET_CHILD_SUBREAPER, the mechanism of container
  init processes such as tini): a process whose parent exits — `setsid … &`, a double fork,
  `nohup`, a daemon — is re-parented to the supervisor instead of to init. However it
  changed its session, process group or environment, it stays the supervisor's descendant
  and is found by following the parent links in /proc/<pid>/stat.
- It reports bash's pid and exit status on a pipe (a command is done when bash exits) and
  lives on while any descendant runs, reaping them; with none left it exits by itself.
- Its stdin is the lifeline: a pipe whose write end only bassi holds. When bassi closes it
  (a command timed out, the run ends, an interrupt) or dies in any way — SIGKILL and crashes
  included, the kernel closes the pipe of a dead process — the supervisor stops every
  descendant (SIGTERM, a short grace, then SIGKILL rounds until none is left) and exits. It
  also stops when its parent changes (getppid), or on SIGTERM/SIGINT/SIGHUP.

PR_SET_PDEATHSIG is not used: it fires when the parent *thread* exits, not the process,
and bassi may run a tool from a thread that ends before the run does. The pipe has no such
catch.

bassi itself becomes a subreaper too (become_subreaper), for an agent that kills its own
supervisor (`kill -9 $PPID`): the command's processes are then re-parented to bassi, and
kill_adopted() stops them at the end of the run. It tells them from bassi's own children by
their session: bash starts a new session, and a process can only stay in its parent's
session or start a new one, never join another, so nothing the tools started is in bassi's
session, while the supervisors (and anything else bassi starts during a run) are. A program
that embeds the agent loop becomes a subreaper in the same way, and its children in other
sessions count as adopted.

The supervisor also reads its parent's pid every second: an agent that opened bassi's end of
the lifeline through /proc/<pid>/fd could keep the pipe open after bassi's death, but not
keep the supervisor's parent alive.

Not contained: a process started on the agent's behalf by a daemon outside the tree
(`systemd-run --user`, `at`, a container engine, ssh to localhost). A cgroup is not used:
CI runners do not delegate one to the job's user, and where a cgroup is writable by that
user the agent, running as the same user, could move itself out of it again.

Without /proc and PR_SET_CHILD_SUBREAPER (macOS), the supervisor still stops the command's
process group at the end of the run and when bassi dies, but a process that left that group
(setsid, a double fork) is re-parented to launchd and is not found.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from bassi_ci.agent.tools import supervisor
from bassi_ci.agent.tools.supervisor import descendants, is_live, process_table, set_subreaper, signal_all

_subreaper: bool | None = None  # this process: None until become_subreaper() was asked
# Sessions of children bassi started in a session of their own on purpose (MCP servers): not
# adopted, so kill_adopted() leaves them to whoever started them.
_own_sessions: set[int] = set()


def keep_session(session: int) -> None:
    """Exempt a child's session from kill_adopted() until release_session()."""
    _own_sessions.add(session)


def release_session(session: int) -> None:
    _own_sessions.discard(session)


def become_subreaper() -> bool:
    """Make this process (bassi) a child subreaper, once; whether it is one."""
    global _subreaper
    if _subreaper is None:
        _subreaper = set_subreaper()
    return _subreaper


# --------------------------------------------------------------------------- bassi's side


class SupervisorLost(Exception):
    """The supervisor died before reporting its command's end (the command killed it)."""


class Supervised:
    """One bash command under its supervisor, as bassi sees it."""

    SCRIPT = Path(supervisor.__file__)

    def __init__(self, process: subprocess.Popen[bytes], status_fd: int) -> None:
        self.process = process
        self.leader: int | None = None  # bash's pid, once the supervisor told it
        self.exit_code: int | None = None
        self._status_fd: int | None = status_fd
        self._buffer = b""

    @classmethod
    def start(cls, argv: Sequence[str], *, cwd: Path, env: dict[str, str], output: IO[bytes]) -> Supervised:
        """Start `argv` under a new supervisor; OSError/ValueError when it cannot start."""
        if not sys.executable:
            raise OSError("no Python interpreter to supervise the command with")
        read_fd, write_fd = os.pipe()
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(cls.SCRIPT), str(write_fd), *argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,  # the lifeline
                stdout=output,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        return cls(process, read_fd)

    def wait(self, timeout_s: float) -> int | None:
        """bash's exit code, or None if it still runs after `timeout_s`.

        SupervisorLost when the supervisor died without telling. Never blocks past the
        timeout; an interrupt (KeyboardInterrupt) passes through, leaving nothing locked.
        """
        end = time.monotonic() + timeout_s
        while self.exit_code is None:
            if self._status_fd is None:
                raise SupervisorLost
            left = end - time.monotonic()
            if left <= 0:
                return None
            poller = select.poll()
            poller.register(self._status_fd, select.POLLIN)
            if not poller.poll(max(1, math.ceil(left * 1000))):
                continue
            chunk = os.read(self._status_fd, 512)
            if not chunk:
                self._close_status()
                raise SupervisorLost
            self._buffer += chunk
            *lines, self._buffer = self._buffer.split(b"\n")
            for line in lines:
                kind, _, number = line.partition(b" ")
                if kind == b"pid":
                    self.leader = int(number)
                elif kind == b"exit":
                    self.exit_code = int(number)
        self._close_status()
        return self.exit_code

    def stop(self) -> None:
        """Cut the lifeline: the supervisor stops every process of the command and exits.
        Returns at once; finish() waits for it."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()

    def finished(self) -> bool:
        """Whether the supervisor has exited (then it is reaped and its pipes closed);
        never blocks."""
        if self.process.returncode is None:
            try:
                pid, status = os.waitpid(self.process.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: how it ended is not known
                self.process.returncode = -signal.SIGKILL
            else:
                if not pid:
                    return False
                self.process.returncode = os.waitstatus_to_exitcode(status)
        self.stop()
        self._close_status()
        return True

    def finish(self, until: float) -> None:
        """Wait (until the monotonic time `until`) for the stopped supervisor to exit; one that
        is still there is killed, and what it supervised is left to kill_adopted()."""
        while not self.finished():
            if time.monotonic() >= until:
                with contextlib.suppress(OSError):
                    os.kill(self.process.pid, signal.SIGKILL)
                end = time.monotonic() + 1.0
                while not self.finished() and time.monotonic() < end:
                    time.sleep(0.005)
                break
            time.sleep(0.005)
        self._close_status()
        if self.leader is not None and (self.process.returncode != 0 or not _subreaper):
            # Killed before it cleaned up, or unable to find more (macOS): bash's process group goes.
            with contextlib.suppress(OSError):
                os.killpg(self.leader, signal.SIGKILL)

    def _close_status(self) -> None:
        if self._status_fd is not None:
            os.close(self._status_fd)
            self._status_fd = None


def kill_adopted(timeout_s: float = supervisor.KILL_S) -> None:
    """SIGKILL the processes this subreaper adopted from the tools, and their descendants,
    and reap them: its children in another session than its own (see the module's doc)."""
    if not _subreaper:
        return
    me, session = os.getpid(), os.getsid(0)
    end = time.monotonic() + timeout_s
    while True:
        table = process_table()
        if table is None:
            return
        adopted = [
            pid for pid, (ppid, _, sid) in table.items() if ppid == me and sid != session and sid not in _own_sessions
        ]
        live = [pid for pid in adopted + descendants(table, adopted) if is_live(table[pid])]
        if live and time.monotonic() < end:
            signal_all(live, signal.SIGKILL)
        for pid in adopted:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        if not live or time.monotonic() >= end:
            return
        time.sleep(0.005)


def marked_processes(marker: bytes) -> list[int]:
    """The pids whose environment holds `marker` (`NAME=value`); [] without /proc (macOS)."""
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []
    found: list[int] = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:  # gone, or not ours to read
            continue
        if marker in environ:
            found.append(pid)
    return found


def kill_marked(marker: bytes, rounds: int = 5) -> None:
    """SIGKILL every process whose environment holds `marker` (those that left their group).

    Repeated a few times, as a marked process may fork between the scan and the kill.
    Without /proc (macOS) the process groups are all that can be stopped.
    """
    for _ in range(rounds):
        pids = marked_processes(marker)
        if not pids:
            return
        signal_all(pids, signal.SIGKILL)
