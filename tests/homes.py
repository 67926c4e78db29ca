"""Where the suite's homes are: the real one (never written) and the temporary ones every test and
every process the tests start use instead.

Importing this module (tests/conftest.py does, first thing) points HOME, BASSI_HOME and the XDG
folders of this process at a temporary folder for the whole session. That covers what the per-test
fixture cannot: code that runs at collection, session-scoped fixtures and the subprocesses they
start. The autouse fixture `isolated_home` then gives each test a fresh home of its own on top.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# Read before anything below changes HOME: the home of the person (or CI job) running the tests.
REAL_HOME = Path(os.path.expanduser("~")).resolve()

# The variables that decide where bassi and the programs it starts keep files: bassi's own home,
# git's global config (XDG_CONFIG_HOME/git), the systemd user units (XDG_CONFIG_HOME/systemd/user)
# and the runtime folder `systemd-analyze --user` needs.
HOME_VARIABLES = (
    "HOME",
    "BASSI_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
)


def home_environment(root: Path) -> dict[str, str]:
    """The home variables for a home at `root`, laid out as the XDG defaults would be under it."""
    runtime = root / ".run"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)  # XDG wants it to exist, owner-only
    return {
        "HOME": str(root),
        "BASSI_HOME": str(root / "bassi"),
        "XDG_CONFIG_HOME": str(root / ".config"),
        "XDG_DATA_HOME": str(root / ".local" / "share"),
        "XDG_STATE_HOME": str(root / ".local" / "state"),
        "XDG_CACHE_HOME": str(root / ".cache"),
        "XDG_RUNTIME_DIR": str(runtime),
    }


def home_variables() -> dict[str, str]:
    """The current home variables, for a test that builds a subprocess environment from scratch."""
    return {name: os.environ[name] for name in HOME_VARIABLES if name in os.environ}


def _isolate_session() -> Path:
    root = Path(tempfile.mkdtemp(prefix="bassi-tests-home-")).resolve()
    os.environ.update(home_environment(root))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


SESSION_HOME = _isolate_session()
