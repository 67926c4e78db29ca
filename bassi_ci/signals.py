"""SIGTERM is handled like SIGINT (Ctrl-C): both become KeyboardInterrupt, so the run
stops its tools, and the partial result and history row are still written.

The process enters interrupt_policy() once, in bassi_ci.error_handler; the final writes
of a run defer interrupts, and once a result is out interrupts are ignored for good."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def interrupt_policy() -> Iterator[None]:
    """For a whole command: SIGTERM raises KeyboardInterrupt in the main thread, like Ctrl-C.
    On the way out SIGINT and SIGTERM get back the handlers they had before (so an
    ignore_interrupts() lasts until the command is over, and no longer)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in INTERRUPTS}
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Within the block (the final writes), SIGINT and SIGTERM are ignored, not fatal."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in INTERRUPTS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def ignore_interrupts() -> None:
    """Until the command ends (see interrupt_policy), SIGINT and SIGTERM are ignored: the
    result is out, the process only exits, and its exit code must be the one the result states."""
    if threading.current_thread() is threading.main_thread():
        for sig in INTERRUPTS:
            signal.signal(sig, signal.SIG_IGN)
