"""Keep the environment and memory of a bassi process that holds secrets from the agent (Linux).

The agent's commands run as bassi's own user, and a process may read /proc/<pid>/environ and
the memory of any other process of its user: where the API key and the push token are, even
after os.environ forgot them. A process marked non-dumpable (prctl PR_SET_DUMPABLE 0) has its
/proc files owned by root and cannot be ptraced by its user, so only root can read them.
Programs it starts are dumpable again (exec resets the flag), so the tools work as before.
What stays open: root, and so `sudo` on a runner that allows it.
"""

from __future__ import annotations

import sys

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def hide_from_same_user() -> bool:
    """Mark this process non-dumpable; whether that worked (never on other systems than Linux)."""
    return _prctl(PR_SET_DUMPABLE, 0) == 0


def is_hidden() -> bool:
    return _prctl(PR_GET_DUMPABLE, 0) == 0


def _prctl(option: int, value: int) -> int:
    if not sys.platform.startswith("linux"):
        return -1
    try:
        import ctypes  # only where it is used: most commands never need it

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0))
    except (OSError, AttributeError):
        return -1
