"""The supervisor of one bash command (see containment.py), run as a script:

    python -I -S supervisor.py STATUS_FD ARGV...

It starts ARGV in a new session with stdin closed, becomes a child subreaper, writes
`pid <bash's pid>` and later `exit <bash's exit code>` to STATUS_FD, reaps every process
re-parented to it, and exits when nothing it started is left. When its stdin (the lifeline)
reaches end of file, its parent changes, or it gets SIGTERM/SIGINT/SIGHUP, it stops every
descendant (SIGTERM, GRACE_S, then SIGKILL rounds) and exits.

This module runs for every bash command, so it imports only what Python has loaded at
start-up anyway (plus ctypes for prctl), and containment.py imports its helpers from here.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 0.3  # between SIGTERM and SIGKILL
KILL_S = 2.0  # SIGKILL rounds give up after this long (a process stuck in the kernel)
PARENT_CHECK_S = 1.0

# A process table row: (ppid, state, session).
Row = tuple[int, str, int]


def set_subreaper() -> bool:
    """Make the calling process a child subreaper; False where the platform has none."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def process_table() -> dict[int, Row] | None:
    """Every process in /proc, pid -> (ppid, state, session); None without /proc."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    table: dict[int, Row] = {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                raw = handle.read()
            # pid (comm) state ppid pgrp session …; comm may hold spaces and parentheses
            fields = raw[raw.rindex(b")") + 2 :].split()
            table[int(name)] = (int(fields[1]), fields[0].decode(), int(fields[3]))
        except (OSError, ValueError, IndexError):
            continue
    return table


def is_live(row: Row) -> bool:
    """Running or stopped, not a zombie waiting to be reaped."""
    return row[1] not in ("Z", "X", "x")


def descendants(table: dict[int, Row], roots: list[int]) -> list[int]:
    """The pids under `roots` (the roots themselves excluded), parents before children."""
    children: dict[int, list[int]] = {}
    for pid, row in table.items():
        children.setdefault(row[0], []).append(pid)
    found: list[int] = []
    seen = set(roots)
    queue = list(roots)
    while queue:
        for child in children.get(queue.pop(), ()):
            if child not in seen:
                seen.add(child)
                found.append(child)
                queue.append(child)
    return found


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


def reap_children() -> bool:
    """Collect every exited child of this process; whether any child is left."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def supervise(status_fd: int, argv: list[str]) -> int:
    """The supervisor's life: start argv, report on status_fd, contain, stop on demand."""
    # Where this process cannot adopt orphans or list processes (macOS), bash's process
    # group is all it can find and stop.
    contained = set_subreaper() and process_table() is not None
    os.set_inheritable(status_fd, False)
    parent = os.getppid()
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)

    leader = _start(argv)
    status = _tell(status_fd, f"pid {leader}\n")
    leader_done = False
    while True:
        children_left = True
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children_left = False
                break
            if pid == 0:
                break
            if pid == leader:
                leader_done = True
                status = _tell(status, f"exit {os.waitstatus_to_exitcode(wait_status)}\n")
                if status is not None:
                    os.close(status)
                    status = None
        if leader_done and not children_left and (contained or not _group_alive(leader)):
            return 0  # nothing the command started runs any more
        if stopping or os.getppid() != parent:
            break
        ready, _, _ = select.select([0, wake_r], [], [], PARENT_CHECK_S)
        if 0 in ready:
            try:
                if not os.read(0, 512):
                    break  # the lifeline was cut: bassi closed it, or died
            except OSError:
                break
        if wake_r in ready:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
    stop_all(leader, contained)
    return 0


def _start(argv: list[str]) -> int:
    pid = os.fork()
    if pid:
        return pid
    try:  # the child: bash, in its own session, with stdin closed and default signals
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        signal.set_wakeup_fd(-1)
        # Python ignores SIGPIPE and SIGXFSZ; an ignored signal stays ignored across exec.
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        os.execvp(argv[0], argv)
    except BaseException as problem:
        with contextlib.suppress(BaseException):
            os.write(2, f"could not start {argv[0]}: {problem}\n".encode())
    finally:
        os._exit(127)


def _tell(fd: int | None, message: str) -> int | None:
    """Write to bassi; when that fails (bassi is gone) our end is closed."""
    if fd is None:
        return None
    try:
        os.write(fd, message.encode())
        return fd
    except OSError:
        os.close(fd)
        return None


def stop_all(leader: int, contained: bool) -> None:
    """SIGTERM every descendant, give them GRACE_S, then SIGKILL until none is left."""
    me = os.getpid()
    if not contained:
        _stop_group(leader)
        return
    signal_all(_live_descendants(me), signal.SIGTERM)
    end = time.monotonic() + GRACE_S
    while reap_children() and _live_descendants(me) and time.monotonic() < end:
        time.sleep(0.005)
    end = time.monotonic() + KILL_S
    while (live := _live_descendants(me)) and time.monotonic() < end:
        signal_all(live, signal.SIGKILL)
        reap_children()
        time.sleep(0.002)
    reap_children()


def _stop_group(leader: int) -> None:
    try:
        os.killpg(leader, signal.SIGTERM)
    except OSError:
        return
    end = time.monotonic() + GRACE_S
    while reap_children() and time.monotonic() < end:
        time.sleep(0.005)
    with contextlib.suppress(OSError):
        os.killpg(leader, signal.SIGKILL)
    reap_children()


def _group_alive(leader: int) -> bool:
    try:
        os.killpg(leader, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _live_descendants(me: int) -> list[int]:
    table = process_table()
    if table is None:
        return []
    return [pid for pid in descendants(table, [me]) if is_live(table[pid])]


if __name__ == "__main__":
    sys.exit(supervise(int(sys.argv[1]), sys.argv[2:]))
