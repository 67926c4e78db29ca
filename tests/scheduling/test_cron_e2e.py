"""The cron backend with Debian's real `crontab` and the real cron daemon.

These tests change the machine's real crontab of the current user, so each one saves it
first and puts it back afterwards (or removes it when there was none). The daemon is
started here in the foreground (`cron -f`) and stopped by its PID.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

import pytest

from bassi_ci.scheduling.base import Entry, scheduled_command
from bassi_ci.scheduling.cron import CronBackend, daemon_zone
from bassi_ci.scheduling.envfile import env_file_path, render_env_file, write_env_file
from tests.cli import ROOT, run_cli
from tests.fakeapi import FAKE_API_KEY, FakeMessagesAPI, text, tool_use
from tests.oracles import requires
from tests.os_schedulers import REAL_PATH
from tests.scheduling.test_cron import FOREIGN, make_entry

pytestmark = [pytest.mark.slow, requires("crontab", "cron")]

# Debian's crontab refuses a text without a final newline, so the real one gets one.
REAL_FOREIGN = FOREIGN + b"\n"
FIRE_WAIT_S = 90  # cron wakes at the next full minute (<= 60 s), then bassi starts and calls the API
RUN_WAIT_S = 60  # then the run finishes and writes its row


def crontab_l() -> bytes | None:
    listing = subprocess.run(["crontab", "-l"], capture_output=True, check=False)
    return listing.stdout if listing.returncode == 0 else None


def crontab_install(content: bytes) -> None:
    subprocess.run(["crontab", "-"], input=content, capture_output=True, check=True)


@pytest.fixture
def real_crontab(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The user's real crontab, saved and put back however the test ends."""
    monkeypatch.setenv("PATH", REAL_PATH)  # the real crontab, not the suite's stand-in
    saved = crontab_l()
    yield
    if saved is None:
        subprocess.run(["crontab", "-r"], capture_output=True, check=False)
    else:
        crontab_install(saved)
    assert crontab_l() == saved


def test_the_real_crontab_keeps_foreign_lines_through_a_lifecycle(real_crontab: None) -> None:
    crontab_install(REAL_FOREIGN)
    backend = CronBackend()
    for task_id in ("alpha", "beta", "gamma"):
        backend.apply(backend.plan_install(make_entry(task_id)))
    backend.apply(backend.plan_install(make_entry("beta", "monday 10:30")))
    backend.apply(backend.plan_enable(make_entry("gamma"), False))
    assert backend.status("gamma").enabled is False
    backend.apply(backend.plan_enable(make_entry("gamma"), True))
    listing = crontab_l()
    assert listing is not None and listing.endswith(REAL_FOREIGN) and listing.count(b"# bassi-ci:") == 3
    for task_id in ("alpha", "beta", "gamma"):
        backend.apply(backend.plan_uninstall(task_id))
    assert crontab_l() == REAL_FOREIGN


TASK_ID = "cron-e2e"


def test_the_cron_daemon_runs_the_task_under_its_minimal_environment(
    real_crontab: None, fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path
) -> None:
    """A `* * * * *` line fires `bassi execute --ci` from cron's bare environment
    (PATH=/usr/bin:/bin, no LANG, no ANTHROPIC_*): everything comes from the env file."""
    (isolated_home / "tasks").mkdir(parents=True)
    (isolated_home / "tasks" / f"{TASK_ID}.yaml").write_text(
        f"id: {TASK_ID}\nname: Cron e2e\nprompt: Note where you are\n"
    )
    workdir = tmp_path / "work dir 100%"  # a space and a % on the way through cron and sh
    workdir.mkdir()
    fake_api.enqueue(tool_use(("bash", {"command": "pwd > where.txt"})), text("Noted."))
    environ = {"PATH": "/usr/bin:/bin", "ANTHROPIC_BASE_URL": fake_api.base_url, "ANTHROPIC_API_KEY": FAKE_API_KEY}
    env_file = env_file_path(isolated_home)
    # PYTHONPATH only because the tests run this checkout, not the installed package.
    content = render_env_file(environ, isolated_home, include_key=True) + f"PYTHONPATH={shlex.quote(str(ROOT))}\n"
    assert write_env_file(env_file, content)
    zone = daemon_zone()  # the machine's own zone: a plain line, no due-guard
    entry = Entry(
        task_id=TASK_ID,
        schedule="* * * * *",
        timezone=zone,
        command=scheduled_command(TASK_ID, workdir, env_file),
        workdir=workdir,
        log_dir=isolated_home / "logs" / TASK_ID,
    )
    crontab_install(REAL_FOREIGN)
    backend = CronBackend()
    plan = backend.plan_install(entry)
    assert plan.notes == ()
    backend.apply(plan)

    try:
        with _started_cron():
            fired = _wait_for(lambda: bool(fake_api.requests or _statuses(isolated_home)), FIRE_WAIT_S)
            assert fired, f"no API call and no history row within {FIRE_WAIT_S} s; crontab:\n{crontab_l()!r}"
            finished = _wait_for(lambda: _statuses(isolated_home) not in ([], ["running"]), RUN_WAIT_S)
    finally:
        _stop_jobs_of(str(env_file))
    assert finished and _statuses(isolated_home)[0] == "success", _statuses(isolated_home)
    assert (workdir / "where.txt").read_text().strip() == str(workdir)

    backend.apply(backend.plan_uninstall(TASK_ID))
    assert crontab_l() == REAL_FOREIGN


def test_schedule_add_installs_a_task_the_cron_daemon_runs(
    real_crontab: None, fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path
) -> None:
    """The whole path a user takes: `bassi schedule add --backend cron` writes the real crontab,
    keeps the env file the user prepared, cron fires the job from its bare environment, the run
    leaves a history row, and `bassi schedule delete` gives back the crontab byte for byte."""
    workdir = tmp_path / "work dir 100%"
    workdir.mkdir()
    fake_api.enqueue(tool_use(("bash", {"command": "pwd > where.txt"})), text("Noted."))
    environ = {"PATH": "/usr/bin:/bin", "ANTHROPIC_BASE_URL": fake_api.base_url, "ANTHROPIC_API_KEY": FAKE_API_KEY}
    env_file = env_file_path(isolated_home)
    # Written before `add`, as a user who keeps their own env file would: `add` must keep it.
    # PYTHONPATH only because the tests run this checkout, not the installed package.
    content = render_env_file(environ, isolated_home, include_key=True) + f"PYTHONPATH={shlex.quote(str(ROOT))}\n"
    assert write_env_file(env_file, content)
    crontab_install(REAL_FOREIGN)
    when = ("--when", "* * * * *", "--tz", daemon_zone())  # the machine's own zone: a plain line
    code, out, err = run_cli(
        "schedule", "add", "Cron add", "--id", "cron-add", *when, "--prompt", "Note where you are",
        "--workdir", str(workdir), "--backend", "cron",
    )  # fmt: skip
    assert code == 0, err
    assert "Updated the crontab" in out and env_file.read_text() == content
    listing = crontab_l()
    assert listing is not None and listing.endswith(REAL_FOREIGN) and b"execute --ci cron-add" in listing

    try:
        with _started_cron():
            fired = _wait_for(lambda: bool(fake_api.requests or _statuses(isolated_home, "cron-add")), FIRE_WAIT_S)
            assert fired, f"no API call and no history row within {FIRE_WAIT_S} s; crontab:\n{crontab_l()!r}"
            finished = _wait_for(lambda: _statuses(isolated_home, "cron-add") not in ([], ["running"]), RUN_WAIT_S)
    finally:
        _stop_jobs_of(str(env_file))
    assert finished and _statuses(isolated_home, "cron-add")[0] == "success", _statuses(isolated_home, "cron-add")
    assert (workdir / "where.txt").read_text().strip() == str(workdir)

    code, _, err = run_cli("schedule", "delete", "cron-add")
    assert code == 0, err
    assert crontab_l() == REAL_FOREIGN


@contextmanager
def _started_cron() -> Iterator[None]:
    """`cron -f` for the duration of a with-block, stopped by its PID (a cron the machine
    already runs is used as it is: a second one would refuse to start)."""
    if _running_cron():
        yield
        return
    if datetime.now().second >= 55:  # started this late, cron may let the coming minute pass
        time.sleep(61 - datetime.now().second)
    daemon_path = shutil.which("cron")
    assert daemon_path is not None
    daemon = subprocess.Popen([daemon_path, "-f"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(0.5)
        if daemon.poll() is not None:
            output = daemon.stdout.read().decode() if daemon.stdout else ""
            pytest.fail(f"cron -f exited at once (is another cron running?): {output.strip()}")
        yield
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def _stop_jobs_of(marker: str) -> None:
    """Stop what cron started for this test and is still running (a failed or slow run):
    cron leaves its jobs running when it stops. Found by `marker` in the job's command line,
    then every descendant by parent PID."""
    parents: dict[int, int] = {}
    family: set[int] = set()
    for proc in Path("/proc").iterdir():
        try:
            pid = int(proc.name)
            parents[pid] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if marker.encode() in (proc / "cmdline").read_bytes():
                family.add(pid)
        except (ValueError, OSError, IndexError):
            continue
    grown = True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in family} - family
        family |= children
        grown = bool(children)
    for pid in family - {os.getpid()}:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _running_cron() -> bool:
    try:
        pid = int(Path("/run/crond.pid").read_text().strip())
        return Path(f"/proc/{pid}/comm").read_text().strip() == "cron"
    except (OSError, ValueError):
        return False


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return bool(condition())


def _statuses(home: Path, task_id: str = TASK_ID) -> list[str]:
    database = home / "state.db"
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        return [row[0] for row in db.execute("SELECT status FROM runs WHERE task_id = ?", (task_id,))]
