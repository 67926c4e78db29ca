"""The cron backend with Debian's real `crontab` and the real cron daemon.

These tests change the machine's real crontab of the current user, so they save it first
and put it back afterwards (or remove it when there was none). The daemon is started here
in the foreground (`cron -f`) and stopped by its PID. Waiting for the daemon's next minute
costs up to a minute, so the two daemon tests share one wait (`cron_round`): both tasks are
installed, fired and finished together, then each test checks its own task.
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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from bassi_ci.scheduling.base import Entry, scheduled_command
from bassi_ci.scheduling.cron import CronBackend, daemon_zone
from bassi_ci.scheduling.envfile import env_file_path, render_env_file, write_env_file
from tests.cli import ROOT, run_cli
from tests.fakeapi import FAKE_API_KEY, FakeMessagesAPI, text, tool_use
from tests.homes import home_environment
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


TASK_ID = "cron-e2e"  # the hand-written line, run from cron's bare environment
ADDED_ID = "cron-add"  # the line `bassi schedule add --backend cron` writes


@dataclass
class CronJob:
    """One task of the shared cron round: its own home, fake API, working folder and env file,
    and what was seen while the daemon ran it."""

    task_id: str
    root: Path
    api: FakeMessagesAPI
    fired: bool = False
    finished: bool = False
    crontab_seen: bytes | None = None

    @property
    def home(self) -> Path:
        return Path(home_environment(self.root)["BASSI_HOME"])

    @property
    def workdir(self) -> Path:
        return self.root / "work dir 100%"  # a space and a % on the way through cron and sh

    @property
    def env_file(self) -> Path:
        return env_file_path(self.home)

    @contextmanager
    def as_user(self) -> Iterator[None]:
        """This job's HOME, BASSI_HOME and API settings, as the user who set it up had them."""
        with pytest.MonkeyPatch.context() as patch:
            for name, value in home_environment(self.root).items():
                patch.setenv(name, value)
            patch.setenv("ANTHROPIC_BASE_URL", self.api.base_url)
            patch.setenv("ANTHROPIC_API_KEY", FAKE_API_KEY)
            yield

    def statuses(self) -> list[str]:
        return _statuses(self.home, self.task_id)

    def started(self) -> bool:
        return bool(self.api.requests or self.statuses())

    def done(self) -> bool:
        return self.statuses() not in ([], ["running"])


@dataclass
class CronRound:
    """Both tasks installed in the real crontab and fired by one wait for cron's next minute
    (each such wait costs up to a minute). Each test then checks its own task and removes its
    own line; `crontab_without` says what the crontab must be after that."""

    minimal: CronJob
    added: CronJob
    minimal_notes: tuple[str, ...] = ()
    add_outcome: tuple[int, str, str] = (0, "", "")
    env_file_kept: bool = False
    # The crontab with each set of the two tasks installed, as bassi wrote it.
    listings: dict[frozenset[str], bytes | None] = field(default_factory=dict)
    installed: set[str] = field(default_factory=set)

    def crontab_without(self, task_id: str) -> bytes | None:
        self.installed.discard(task_id)
        return self.listings[frozenset(self.installed)]


@pytest.fixture(scope="module")
def cron_round(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CronRound]:
    """The real crontab, saved, given both tasks, run through one minute of the real daemon,
    and put back (or removed when there was none) however the tests end."""
    with pytest.MonkeyPatch.context() as patch, FakeMessagesAPI() as api_minimal, FakeMessagesAPI() as api_added:
        patch.setenv("PATH", REAL_PATH)  # the real crontab, not the suite's stand-in
        saved = crontab_l()
        try:
            shared = CronRound(
                minimal=CronJob(TASK_ID, tmp_path_factory.mktemp("cron-minimal"), api_minimal),
                added=CronJob(ADDED_ID, tmp_path_factory.mktemp("cron-added"), api_added),
            )
            _install_both(shared)
            _run_one_cron_minute((shared.minimal, shared.added))
            yield shared
        finally:
            if saved is None:
                subprocess.run(["crontab", "-r"], capture_output=True, check=False)
            else:
                crontab_install(saved)
        assert crontab_l() == saved


def _prepare(job: CronJob) -> None:
    """The task's working folder, its scripted API answers and the env file cron's line reads
    (PATH=/usr/bin:/bin, no LANG, no ANTHROPIC_*: everything comes from the env file)."""
    job.workdir.mkdir()
    job.api.enqueue(tool_use(("bash", {"command": "pwd > where.txt"})), text("Noted."))
    environ = {"PATH": "/usr/bin:/bin", "ANTHROPIC_BASE_URL": job.api.base_url, "ANTHROPIC_API_KEY": FAKE_API_KEY}
    # PYTHONPATH only because the tests run this checkout, not the installed package.
    content = render_env_file(environ, job.home, include_key=True) + f"PYTHONPATH={shlex.quote(str(ROOT))}\n"
    assert write_env_file(job.env_file, content)


def _minimal_entry(job: CronJob) -> Entry:
    """The hand-written `* * * * *` line of `bassi execute --ci`, in the machine's own zone
    (a plain line, no due-guard)."""
    return Entry(
        task_id=job.task_id,
        schedule="* * * * *",
        timezone=daemon_zone(),
        command=scheduled_command(job.task_id, job.workdir, job.env_file),
        workdir=job.workdir,
        log_dir=job.home / "logs" / job.task_id,
    )


def _install_both(shared: CronRound) -> None:
    """Install each task alone first (so each test knows the crontab with only the other task),
    then both."""
    minimal, added = shared.minimal, shared.added
    _prepare(minimal)
    _prepare(added)
    (minimal.home / "tasks").mkdir(parents=True)
    (minimal.home / "tasks" / f"{minimal.task_id}.yaml").write_text(
        f"id: {minimal.task_id}\nname: Cron e2e\nprompt: Note where you are\n"
    )
    crontab_install(REAL_FOREIGN)
    shared.listings[frozenset()] = crontab_l()
    with minimal.as_user():
        backend = CronBackend()
        plan = backend.plan_install(_minimal_entry(minimal))
        shared.minimal_notes = plan.notes
        backend.apply(plan)
        shared.listings[frozenset({minimal.task_id})] = crontab_l()
        backend.apply(backend.plan_uninstall(minimal.task_id))
    with added.as_user():
        env_text = added.env_file.read_text()  # written before `add`, as a user who keeps their own would
        when = ("--when", "* * * * *", "--tz", daemon_zone())  # the machine's own zone: a plain line
        shared.add_outcome = run_cli(
            "schedule", "add", "Cron add", "--id", added.task_id, *when, "--prompt", "Note where you are",
            "--workdir", str(added.workdir), "--backend", "cron",
        )  # fmt: skip
        shared.env_file_kept = added.env_file.read_text() == env_text
    shared.listings[frozenset({added.task_id})] = crontab_l()
    with minimal.as_user():
        backend.apply(backend.plan_install(_minimal_entry(minimal)))
    shared.installed = {minimal.task_id, added.task_id}
    shared.listings[frozenset(shared.installed)] = crontab_l()


def _run_one_cron_minute(jobs: tuple[CronJob, ...]) -> None:
    """Start the daemon, wait for it to fire every job and for the runs to end, and stop it."""
    try:
        with _started_cron():
            _wait_for(lambda: all(job.started() for job in jobs), FIRE_WAIT_S)
            for job in jobs:
                job.fired, job.crontab_seen = job.started(), crontab_l()
            _wait_for(lambda: all(job.done() for job in jobs if job.fired), RUN_WAIT_S)
            for job in jobs:
                job.finished = job.done()
    finally:
        for job in jobs:
            _stop_jobs_of(str(job.env_file))


def test_the_cron_daemon_runs_the_task_under_its_minimal_environment(cron_round: CronRound) -> None:
    """A `* * * * *` line fires `bassi execute --ci` from cron's bare environment
    (PATH=/usr/bin:/bin, no LANG, no ANTHROPIC_*): everything comes from the env file."""
    job = cron_round.minimal
    assert cron_round.minimal_notes == ()
    assert job.fired, f"no API call and no history row within {FIRE_WAIT_S} s; crontab:\n{job.crontab_seen!r}"
    assert job.finished and job.statuses()[0] == "success", job.statuses()
    assert (job.workdir / "where.txt").read_text().strip() == str(job.workdir)

    with job.as_user():
        backend = CronBackend()
        backend.apply(backend.plan_uninstall(job.task_id))
    assert crontab_l() == cron_round.crontab_without(job.task_id)


def test_schedule_add_installs_a_task_the_cron_daemon_runs(cron_round: CronRound) -> None:
    """The whole path a user takes: `bassi schedule add --backend cron` writes the real crontab,
    keeps the env file the user prepared, cron fires the job from its bare environment, the run
    leaves a history row, and `bassi schedule delete` gives back the crontab byte for byte."""
    job = cron_round.added
    code, out, err = cron_round.add_outcome
    assert code == 0, err
    assert "Updated the crontab" in out and cron_round.env_file_kept
    listing = cron_round.listings[frozenset({job.task_id})]
    assert listing is not None and listing.endswith(REAL_FOREIGN) and b"execute --ci cron-add" in listing

    assert job.fired, f"no API call and no history row within {FIRE_WAIT_S} s; crontab:\n{job.crontab_seen!r}"
    assert job.finished and job.statuses()[0] == "success", job.statuses()
    assert (job.workdir / "where.txt").read_text().strip() == str(job.workdir)

    with job.as_user():
        code, _, err = run_cli("schedule", "delete", job.task_id)
    assert code == 0, err
    assert crontab_l() == cron_round.crontab_without(job.task_id)


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
