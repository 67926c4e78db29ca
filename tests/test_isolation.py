"""The suite never touches the real home (tests/homes.py, tests/conftest.py): every test and every
process it starts writes only under a temporary home.

Other programs on the machine may write to the real home while the tests run, so nothing here
compares the real home as a whole: each command uses a task id of its own and the tests check that
the id shows up under the temporary home and nowhere under the real one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bassi_ci.home import bassi_home
from tests.homes import HOME_VARIABLES, REAL_HOME, SESSION_HOME
from tests.oracles import requires

ROOT = Path(__file__).resolve().parents[1]

# Where bassi keeps files in a home: its own folder and the systemd user units a backend installs.
BASSI_PLACES = (Path(".bassi"), Path(".config", "systemd", "user"))


def test_every_home_variable_points_into_the_tests_own_temporary_folder(isolated_home: Path) -> None:
    assert bassi_home() == isolated_home
    home = Path(os.environ["HOME"])
    assert isolated_home.parent == home
    for name in HOME_VARIABLES:
        assert home in Path(os.environ[name]).parents or Path(os.environ[name]) == home, name
        assert REAL_HOME not in Path(os.environ[name]).parents, name
    assert SESSION_HOME not in home.parents  # the test's home is its own, not the session's


def test_the_session_home_is_temporary() -> None:
    assert SESSION_HOME.is_dir()
    assert REAL_HOME not in SESSION_HOME.parents and SESSION_HOME != REAL_HOME


def add_task(task_id: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`bassi schedule add` as a user types it (installing into the OS scheduler, as by default)."""
    argv = [sys.executable, "-m", "bassi_ci", "schedule", "add", task_id]
    options = ["--when", "daily 09:00", "--prompt", "p", "--tz", "UTC"]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([*argv, *options], cwd=cwd, env=full_env, capture_output=True, text=True, check=False)


def unique_id() -> str:
    return f"iso-{uuid.uuid4().hex[:12]}"


def places_holding(home: Path, text: str) -> list[Path]:
    """Files and folders under `home`'s bassi places whose name or content holds `text`."""
    found = []
    for place in BASSI_PLACES:
        for path in (home / place).rglob("*") if (home / place).is_dir() else []:
            if text in path.name or (path.is_file() and text.encode() in _head(path)):
                found.append(path)
    return found


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(1 << 20)
    except OSError:  # another program's file may vanish or be unreadable while we look
        return b""


def test_a_real_command_writes_only_under_the_test_home(isolated_home: Path, tmp_path: Path) -> None:
    task_id = unique_id()
    result = add_task(task_id, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    home = Path(os.environ["HOME"])
    written = [path for path in home.rglob("*") if task_id in path.name]
    assert isolated_home / "tasks" / f"{task_id}.yaml" in written
    assert places_holding(REAL_HOME, task_id) == []


def test_the_session_is_isolated_before_any_fixture_runs(tmp_path: Path) -> None:
    """A pytest run whose conftest imports tests.conftest, started with a pretend real home: a
    command run while collecting and one run by a session fixture (neither sees `isolated_home`)
    both write under the session's temporary home, and nothing lands in the pretend real home."""
    pretend_real = tmp_path / "real-home"
    pretend_real.mkdir()
    collect_id, session_id = unique_id(), unique_id()
    report = tmp_path / "report.json"
    sample = tmp_path / "sample"
    sample.mkdir()
    (sample / "conftest.py").write_text("import tests.conftest  # noqa: F401\n")
    (sample / "test_sample.py").write_text(SAMPLE.format(collect_id=collect_id, session_id=session_id, report=report))
    env = {name: value for name, value in os.environ.items() if name not in HOME_VARIABLES}
    env.update({"HOME": str(pretend_real), "PYTHONPATH": str(ROOT)})
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", str(sample)],
        cwd=sample,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads(report.read_text())
    session_home = Path(seen["HOME"])
    assert pretend_real not in session_home.parents and session_home != pretend_real
    assert seen["BASSI_HOME"] == str(session_home / "bassi")
    assert seen["XDG_CONFIG_HOME"] == str(session_home / ".config")
    assert sorted(seen["tasks"]) == sorted([f"{collect_id}.yaml", f"{session_id}.yaml"])
    assert list(pretend_real.rglob("*")) == []
    assert not session_home.exists(), "the session's home outlived the session"


SAMPLE = """
import json, os, subprocess, sys
from pathlib import Path

import pytest


def add(task_id):
    argv = [sys.executable, "-m", "bassi_ci", "schedule", "add", task_id, "--when", "daily 09:00", "--prompt", "p"]
    subprocess.run([*argv, "--tz", "UTC"], check=True, capture_output=True)


add("{collect_id}")  # while pytest collects this module


@pytest.fixture(scope="session")
def added():
    add("{session_id}")


def test_report(added):
    names = ["HOME", "BASSI_HOME", "XDG_CONFIG_HOME"]
    seen = {{name: os.environ[name] for name in names}}
    seen["tasks"] = sorted(path.name for path in Path(os.environ["BASSI_HOME"], "tasks").glob("*.yaml"))
    Path("{report}").write_text(json.dumps(seen))
"""


# --- The independent check: what the command's processes really wrote, as the kernel saw it -------

WRITING_CALLS = "creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,symlink,symlinkat"
_OPEN = re.compile(r'\bopen(?:at)?\((?:AT_FDCWD, )?"((?:[^"\\]|\\.)*)", ([A-Z_|]+)')
_OTHER = re.compile(r"\b(?:" + WRITING_CALLS.replace(",", "|") + r")\((.*)\) = ")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND", "O_TMPFILE"}


def written_paths(strace_log: str, cwd: Path) -> set[Path]:
    """Every path a traced process opened for writing, created, renamed, linked or removed."""
    paths: set[str] = set()
    for line in strace_log.splitlines():
        if (opened := _OPEN.search(line)) and _WRITE_FLAGS & set(opened.group(2).split("|")):
            paths.add(opened.group(1))
        elif other := _OTHER.search(line):
            paths.update(_QUOTED.findall(other.group(1)))
    return {cwd / path if not path.startswith("/") else Path(path) for path in paths}


@requires("strace")
def test_strace_sees_every_write_of_a_real_command_under_the_test_home(isolated_home: Path, tmp_path: Path) -> None:
    task_id = unique_id()
    log = tmp_path / "strace.log"
    strace = shutil.which("strace")
    assert strace is not None
    trace = [strace, "-f", "-qq", "-e", "status=successful", "-o", str(log)]
    trace += ["-e", f"trace=open,openat,{WRITING_CALLS}"]
    argv = [sys.executable, "-m", "bassi_ci", "schedule", "add", task_id, "--when", "daily 09:00", "--prompt", "p"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([*trace, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    written = written_paths(log.read_text(), tmp_path)
    home = Path(os.environ["HOME"])
    assert isolated_home / "tasks" / f"{task_id}.yaml" in written
    outside = sorted(str(path) for path in written if home not in path.parents and path != Path("/dev/null"))
    assert outside == []
    assert places_holding(REAL_HOME, task_id) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('12 openat(AT_FDCWD, "/h/a", O_RDWR|O_CREAT|O_EXCL, 0600) = 3', {"/h/a"}),
        ('12 openat(AT_FDCWD, "/h/r", O_RDONLY|O_CLOEXEC) = 3', set()),
        ('12 rename("/h/.t.tmp", "/h/t.yaml") = 0', {"/h/.t.tmp", "/h/t.yaml"}),
        ('12 mkdir("rel", 0777) = 0', {"/cwd/rel"}),
        ('12 unlinkat(AT_FDCWD, "/h/x", 0) = 0', {"/h/x"}),
    ],
)
def test_written_paths_reads_strace_lines(line: str, expected: set[str]) -> None:
    assert written_paths(line, Path("/cwd")) == {Path(path) for path in expected}
