"""The suite never touches the machine's real OS schedulers unless a test asks for them.

`bassi schedule add` installs into the OS scheduler by default, and many tests add tasks
(in this process and in child processes). Importing this module (tests/conftest.py does, right
after tests.homes) puts a folder of stand-ins first on PATH for the whole session:

* `crontab`: the recording stand-in of tests/scheduling/standin.py, keeping "the user's
  crontab" in `$HOME/.standin-crontab`, so each test (each with its own HOME) has its own;
* `systemctl`: answers every call the way it does where no user manager runs ("Failed to
  connect to bus"), so `--backend auto` picks cron here as on a machine without systemd,
  and a developer's real user manager never sees a test's timers.

A test that wants the real programs (the cron end-to-end tests) sets PATH to `REAL_PATH`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from tests.scheduling.standin import SCRIPT as CRONTAB_SCRIPT

REAL_PATH = os.environ.get("PATH", "/usr/bin:/bin")
STANDIN_CRONTAB_NAME = ".standin-crontab"

_NO_USER_MANAGER = """#!/bin/sh
echo "Failed to connect to bus: No medium found" >&2
exit 1
"""


def standin_crontab_file() -> Path:
    """The current test's stand-in crontab (under its HOME)."""
    return Path(os.environ["HOME"]) / STANDIN_CRONTAB_NAME


def _install_guard() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="bassi-tests-schedulers-")).resolve()
    scripts = {
        "crontab": CRONTAB_SCRIPT.replace("@FILE@", f'"$HOME/{STANDIN_CRONTAB_NAME}"'),
        "systemctl": _NO_USER_MANAGER,
    }
    for name, text in scripts.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    os.environ["PATH"] = f"{folder}{os.pathsep}{REAL_PATH}"
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


GUARD_DIR = _install_guard()
