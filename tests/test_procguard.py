"""bassi's processes that hold secrets are hidden from other processes of the same user (Linux):
their /proc/<pid>/environ, where the key and the push token stay, is for root alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bassi_ci.commands import ci_action, ci_commit, execute
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
# A system Python that an unprivileged user may run (the test interpreter may live under /root).
SYSTEM_PYTHON = "/usr/bin/python3"

PROBE = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from bassi_ci.procguard import hide_from_same_user, is_hidden

def reader_sees_environ_of_child(hide):
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.environ["PROBE_SECRET"] = "x"
        if hide:
            assert hide_from_same_user() and is_hidden()
        os.write(ready_w, b"x")
        time.sleep(10)
        os._exit(0)
    os.read(ready_r, 1)
    try:
        open(f"/proc/{pid}/environ", "rb").read()
        seen = "readable"
    except PermissionError:
        seen = "denied"
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return seen

print(os.getuid(), reader_sees_environ_of_child(False), reader_sees_environ_of_child(True))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_DUMPABLE) is Linux's")
def test_a_hidden_process_environment_is_closed_to_its_own_user() -> None:
    setpriv = shutil.which("setpriv")
    assert setpriv and os.path.exists(SYSTEM_PYTHON), "setpriv (util-linux) and /usr/bin/python3 are needed"
    command = [SYSTEM_PYTHON, "-c", PROBE, str(ROOT)]
    if os.getuid() == 0:  # as root every file is readable: drop to nobody, as an agent's user is
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    uid, plain, hidden = result.stdout.split()
    assert uid != "0" and (plain, hidden) == ("readable", "denied")


@pytest.mark.parametrize(
    ("module", "args"),
    [
        (execute, ["execute", "--prompt", "hi", "--ci", "--replay", "missing.json"]),
        (ci_action, ["ci", "action-run"]),
        (ci_commit, ["ci", "commit", "--paths", "x"]),
    ],
)
def test_commands_that_hold_secrets_hide_themselves(
    module: object, args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(module, "hide_from_same_user", lambda: calls.append(True) or True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path))
    run_cli(*args)
    assert calls == [True]
