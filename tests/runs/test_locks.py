"""One run per task at a time; the kernel frees the lock of a killed holder."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from bassi_ci.errors import ExitCode, Locked
from bassi_ci.runs.locks import task_lock

HOLDER = textwrap.dedent(
    """
    import time
    from bassi_ci.runs.locks import task_lock
    with task_lock("weekly", wait=False):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def test_second_holder_is_refused_at_once() -> None:
    with task_lock("weekly", wait=False):
        started = time.monotonic()
        with pytest.raises(Locked) as problem, task_lock("weekly", wait=False):
            pass
        assert time.monotonic() - started < 1
    assert problem.value.exit_code is ExitCode.LOCKED
    with task_lock("weekly", wait=False):  # released again
        pass


def test_other_tasks_are_independent() -> None:
    with task_lock("weekly", wait=False), task_lock("daily", wait=False):
        pass


def test_wait_blocks_until_released() -> None:
    release = threading.Event()

    def hold() -> None:
        with task_lock("weekly", wait=False):
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    with task_lock("weekly", wait=True):
        waited = time.monotonic() - started
    holder.join()
    assert 0.2 < waited < 5


def test_wait_says_once_that_it_waits_and_only_when_it_must() -> None:
    said: list[str] = []
    with task_lock("weekly", wait=True, on_wait=said.append):  # free: nothing to say
        pass
    assert said == []

    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with task_lock("weekly", wait=False):
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    threading.Timer(0.5, release.set).start()
    with task_lock("weekly", wait=True, on_wait=said.append):
        pass
    holder.join()
    assert said == ["weekly"]


def test_refusal_without_wait_says_nothing_about_waiting() -> None:
    said: list[str] = []
    with task_lock("weekly", wait=False), pytest.raises(Locked), task_lock("weekly", wait=False, on_wait=said.append):
        pass
    assert said == []


def test_lock_of_a_killed_process_is_recovered() -> None:
    child = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "locked\n"
    with pytest.raises(Locked), task_lock("weekly", wait=False):
        pass
    child.send_signal(signal.SIGKILL)
    child.wait()
    with task_lock("weekly", wait=False):
        pass
