"""`bassi schedule debug NAME` and the missed-runs marker of `schedule list`, through the real
entry point. The OS schedulers are recording stand-ins on PATH (`systemctl`/`loginctl`,
`crontab`): tasks are installed with the real backends, recorded in the real registry, and
their runs written to the real history database."""

from __future__ import annotations

import json
import plistlib
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bassi_ci.runs.history import start_run
from bassi_ci.runs.resolve import task_workdir
from bassi_ci.scheduling.base import Backend, Entry, scheduled_command
from bassi_ci.scheduling.cron import CronBackend
from bassi_ci.scheduling.envfile import env_file_path, render_env_file, write_env_file
from bassi_ci.scheduling.jobenv import job_parts, read_env_file
from bassi_ci.scheduling.launchd import LaunchdBackend
from bassi_ci.scheduling.registry import Installation, record_installation
from bassi_ci.scheduling.systemd import SystemdBackend
from bassi_ci.tasks.lookup import history_key
from bassi_ci.tasks.store import TaskStore
from tests.cli import run_cli
from tests.scheduling.standin import StandInCrontab
from tests.scheduling.systemd_fakes import NEXT_ELAPSE, FakeSystemd, install_fake_systemd

NOW = "2027-03-03T12:00:00+00:00"
INSTALLED_AT = "2027-03-01T09:00:30.000+00:00"  # just after a 09:00 run was due
SECRET = "sk-ant-debug-marker-0123456789"
REPORT_KEYS = [
    "id",
    "name",
    "path",
    "installed",
    "backend",
    "installed_at",
    "entry_paths",
    "loaded",
    "enabled",
    "command",
    "command_line",
    "executable",
    "workdir",
    "env_file",
    "environment",
    "next_runs",
    "os_next_runs",
    "last_runs",
    "missed_runs",
    "details",
    "entry_changes",
    "notes",
]


@dataclass
class Installed:
    entry: Entry
    task_key: str


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemd:
    monkeypatch.setenv("BASSI_NOW", NOW)
    return install_fake_systemd(tmp_path, monkeypatch)


def add_task(tmp_path: Path, task_id: str = "nightly", when: str = "daily 09:00", zone: str = "UTC") -> Path:
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    code, _, err = run_cli(
        "schedule", "add", task_id, "--when", when, "--tz", zone, "--prompt", "p", "--workdir", str(workdir),
        "--no-install",
    )  # fmt: skip
    assert code == 0, err
    return workdir


def install(
    backend: Backend, home: Path, task_id: str = "nightly", command: tuple[str, ...] | None = None
) -> Installed:
    """Install the stored task with `backend` directly and record it, as `schedule install` will."""
    task = TaskStore().get(task_id)
    assert task.schedule and task.timezone
    workdir = task_workdir(task, Path.cwd())
    command = command or scheduled_command(task.id, workdir, env_file_path(home))
    entry = Entry(task.id, task.schedule, task.timezone, command, workdir, home / "logs", task.enabled)
    backend.apply(backend.plan_install(entry))
    key = history_key(task)
    assert key is not None
    record_installation(Installation(task.id, key, backend.name, INSTALLED_AT))
    return Installed(entry, key)


def write_env(home: Path, extra: dict[str, str] | None = None) -> None:
    environ = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "ANTHROPIC_API_KEY": SECRET, **(extra or {})}
    assert write_env_file(env_file_path(home), render_env_file(environ, home, include_key=True))


def debug_json(*args: str) -> dict[str, object]:
    code, out, err = run_cli("schedule", "debug", *args, "--json")
    assert code == 0, err
    document: dict[str, object] = json.loads(out)
    return document


# --------------------------------------------------------------------------- systemd


def test_debug_of_an_installed_systemd_task(tmp_path: Path, isolated_home: Path, fake: FakeSystemd) -> None:
    workdir = add_task(tmp_path)
    write_env(isolated_home)
    installed = install(SystemdBackend(), isolated_home)
    code, out, err = run_cli("schedule", "debug", "nightly")
    assert code == 0, err
    for expected in (
        "backend:",
        f"systemd, installed {INSTALLED_AT}",
        "bassi-nightly.timer",
        "bassi-nightly.service",
        "installed yes, enabled yes",
        shlex.join(installed.entry.command),
        f"{sys.executable} (exists)",
        f"{workdir} (exists)",
        f"{env_file_path(isolated_home)} (exists)",
        "ANTHROPIC_API_KEY=set",
        "PATH=/usr/bin:/bin",
        "2027-03-04T09:00:00+00:00",
        NEXT_ELAPSE,
        "loginctl enable-linger",
        "journalctl --user -u bassi-nightly.service",
    ):
        assert expected in out, f"{expected!r} not in:\n{out}"
    assert "MISSING" not in out


def test_debug_json_shape(tmp_path: Path, isolated_home: Path, fake: FakeSystemd) -> None:
    add_task(tmp_path)
    write_env(isolated_home)
    installed = install(SystemdBackend(), isolated_home)
    fake.set_linger("yes")
    report = debug_json("nightly")
    assert list(report) == REPORT_KEYS
    timer, service = SystemdBackend().unit_paths("nightly")
    assert report["installed"] is True and report["backend"] == "systemd" and report["enabled"] is True
    assert report["entry_paths"] == [str(timer), str(service)]
    assert report["command"] == list(installed.entry.command)
    assert report["executable"] == {"path": sys.executable, "exists": True}
    assert report["os_next_runs"] == [NEXT_ELAPSE]
    assert report["next_runs"] == [
        "2027-03-04T09:00:00+00:00",
        "2027-03-05T09:00:00+00:00",
        "2027-03-06T09:00:00+00:00",
    ]
    assert report["environment"] == {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "BASSI_HOME": str(isolated_home),
        "ANTHROPIC_API_KEY": "set",
    }
    assert report["missed_runs"] == {
        "count": 2,
        "latest": ["2027-03-03T09:00:00+00:00", "2027-03-02T09:00:00+00:00"],
        "checked": 2,
        "since": "2027-03-02T09:00:00+00:00",
    }
    notes = report["notes"]
    assert isinstance(notes, list) and not any("linger" in note for note in notes)  # lingering is on


def test_secret_values_are_never_printed(
    tmp_path: Path, isolated_home: Path, fake: FakeSystemd, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_task(tmp_path)
    write_env(
        isolated_home, {"ANTHROPIC_AUTH_TOKEN": "auth-token-value-42", "ANTHROPIC_BASE_URL": f"http://x/{SECRET}"}
    )
    with env_file_path(isolated_home).open("a") as env:
        env.write("MY_SERVICE_PASSWORD='hunter2-hunter2'\n")
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    install(SystemdBackend(), isolated_home)
    for args in (("nightly",), ("nightly", "--json")):
        code, out, err = run_cli("schedule", "debug", *args)
        assert code == 0, err
        for secret in (SECRET, "auth-token-value-42", "hunter2-hunter2"):
            assert secret not in out + err
    report = debug_json("nightly")
    environment = report["environment"]
    assert isinstance(environment, dict)
    assert environment["ANTHROPIC_AUTH_TOKEN"] == environment["MY_SERVICE_PASSWORD"] == "set"
    assert environment["ANTHROPIC_BASE_URL"] == "http://x/[REDACTED]"  # not a secret name, but a secret value


def test_debug_shows_a_missed_run_after_a_simulated_downtime(
    tmp_path: Path, isolated_home: Path, fake: FakeSystemd
) -> None:
    # Installed at T (after that day's 09:00); due T+1d and T+2d; the machine was off for the second.
    add_task(tmp_path)
    installed = install(SystemdBackend(), isolated_home)
    db = isolated_home / "state.db"
    started = "2027-03-02T09:00:01.000+00:00"
    start_run(
        db, run_id="r1", task_id="nightly", started_at=started, model="m", log_path=None, task_key=installed.task_key
    )
    code, out, err = run_cli("schedule", "debug", "nightly")
    assert code == 0, err
    assert "1 of 2 due times since 2027-03-02T09:00:00+00:00" in out
    assert "  2027-03-03T09:00:00+00:00" in out
    assert "2027-03-02T09:00:01.000+00:00 running" in out  # the last runs
    assert "1 missed run(s)" in out and "journalctl --user -u bassi-nightly.service" in out
    missed = debug_json("nightly")["missed_runs"]
    assert missed == {
        "count": 1,
        "latest": ["2027-03-03T09:00:00+00:00"],
        "checked": 2,
        "since": "2027-03-02T09:00:00+00:00",
    }


def test_schedule_list_flags_a_task_with_missed_runs(tmp_path: Path, isolated_home: Path, fake: FakeSystemd) -> None:
    add_task(tmp_path)
    add_task(tmp_path, "stored-only")
    install(SystemdBackend(), isolated_home)
    code, out, err = run_cli("schedule", "list")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert rows["nightly"].endswith("enabled, 2 missed")
    assert rows["stored-only"].endswith("enabled")
    code, out, err = run_cli("schedule", "list", "--json")
    assert code == 0, err
    assert {item["id"]: item["missed_runs"] for item in json.loads(out)} == {"nightly": 2, "stored-only": None}


def test_an_entry_removed_outside_bassi_and_a_missing_program_are_named(
    tmp_path: Path, isolated_home: Path, fake: FakeSystemd
) -> None:
    add_task(tmp_path)
    script = f"cd {tmp_path / 'gone'} && exec /nonexistent/python3 -m bassi_ci execute --ci nightly"
    install(SystemdBackend(), isolated_home, command=("/bin/sh", "-c", script))
    report = debug_json("nightly")
    assert report["executable"] == {"path": "/nonexistent/python3", "exists": False}
    assert report["workdir"] == {"path": str(tmp_path / "gone"), "exists": False}
    notes = "\n".join(report["notes"])  # type: ignore[arg-type]
    assert "/nonexistent/python3" in notes and "does not exist" in notes and "env file" in notes
    for path in SystemdBackend().unit_paths("nightly"):
        path.unlink()
    report = debug_json("nightly")
    assert report["installed"] is False and report["backend"] == "systemd"
    assert "entry is gone" in report["notes"][0] and "bassi schedule install nightly" in report["notes"][0]  # type: ignore[index]


# --------------------------------------------------------------------------- cron


def test_debug_of_a_cron_task_shows_its_line_and_the_zone_note(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASSI_NOW", NOW)
    standin = StandInCrontab.create(tmp_path / "cron-bin")
    monkeypatch.setenv("PATH", f"{standin.program.parent}:/usr/bin:/bin")
    add_task(tmp_path, zone="Pacific/Chatham")  # +12:45/+13:45: never the machine's offsets
    write_env(isolated_home)
    backend = CronBackend()
    installed = install(backend, isolated_home)
    code, out, err = run_cli("schedule", "debug", "nightly")
    assert code == 0, err
    assert "cron, installed" in out and "installed yes, enabled yes" in out
    assert f"{sys.executable} (exists)" in out and "(MISSING)" not in out
    assert "# bassi-ci:nightly" not in out and "line:" in out  # the task's crontab line is shown
    expected_notes = backend.plan_install(installed.entry).notes
    if backend.cron_tz:
        assert not expected_notes and "CRON_TZ=Pacific/Chatham" in standin.content().decode()
    else:
        assert expected_notes and "no CRON_TZ" in expected_notes[0]
    for note in expected_notes:
        assert f"! {note}" in out
    assert "-l" in standin.calls()  # debug read the crontab itself


def test_a_cron_that_cannot_be_read_is_a_note_not_a_failure(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    standin = StandInCrontab.create(tmp_path / "cron-bin")
    monkeypatch.setenv("PATH", f"{standin.program.parent}:/usr/bin:/bin")
    add_task(tmp_path)
    install(CronBackend(), isolated_home)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # `crontab` is gone
    code, out, err = run_cli("schedule", "debug", "nightly")
    assert code == 0, err
    assert "! bassi installed it with cron at" in out and "needs the `crontab` program" in out


# --------------------------------------------------------------------------- not installed, unknown


def test_a_task_that_is_not_installed_says_how_to_install_it(tmp_path: Path, isolated_home: Path) -> None:
    folder = tmp_path / "tasks"
    code, _, err = run_cli(
        "schedule", "add", "nightly", "--when", "daily 09:00", "--prompt", "p", "--tasks-dir", str(folder),
        "--no-install",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run_cli("schedule", "debug", "nightly", "--tasks-dir", str(folder))
    assert code == 0, err
    assert "backend:     not installed" in out
    hint = f"install it with: bassi schedule install nightly --tasks-dir {folder}"
    assert f"! not installed into an OS scheduler, so it never runs on its own; {hint}" in out
    report = debug_json("nightly", "--tasks-dir", str(folder))
    assert report["installed"] is False and report["backend"] is None and report["command"] == []
    assert report["missed_runs"] == {"count": 0, "latest": [], "checked": 0, "since": None}


def test_a_task_installed_from_another_task_file_is_not_this_one(tmp_path: Path, isolated_home: Path) -> None:
    add_task(tmp_path)
    record_installation(Installation("nightly", "/elsewhere/nightly.yaml", "systemd", INSTALLED_AT))
    report = debug_json("nightly")
    assert report["installed"] is False and report["backend"] is None
    assert "/elsewhere/nightly.yaml" in report["notes"][0]  # type: ignore[index]


def test_an_unknown_task_is_a_one_line_usage_error(tmp_path: Path) -> None:
    add_task(tmp_path)
    code, out, err = run_cli("schedule", "debug", "nightlyy")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "did you mean 'nightly'" in err


# --------------------------------------------------------------------------- reading the command and env file


def test_job_parts_of_the_scheduled_command_and_of_launchds_guarded_one(tmp_path: Path) -> None:
    workdir, env = tmp_path / "work dir", tmp_path / "it's env"
    command = scheduled_command("nightly", workdir, env)
    parts = job_parts(command)
    assert (parts.executable, parts.workdir, parts.env_file) == (sys.executable, str(workdir), str(env))
    entry = Entry("nightly", "daily 09:00", "Europe/Berlin", command, workdir, tmp_path / "logs")
    plist = plistlib.loads(LaunchdBackend(agents_dir=tmp_path, machine_zone="UTC").render_plist(entry).encode())
    assert plist["ProgramArguments"] != list(command)  # guarded: the zones differ
    guarded = job_parts(plist["ProgramArguments"])
    assert (guarded.executable, guarded.workdir, guarded.env_file) == (sys.executable, str(workdir), str(env))
    assert job_parts(("/usr/bin/python3", "-m", "bassi_ci")).executable == "/usr/bin/python3"
    assert job_parts(()).executable is None


def test_the_env_file_reads_back_as_written(tmp_path: Path) -> None:
    environ = {"PATH": "/a b:/usr/bin", "LANG": "C.UTF-8", "ANTHROPIC_API_KEY": "k'ey", "ANTHROPIC_MODEL": "m"}
    path = tmp_path / "env"
    write_env_file(path, render_env_file(environ, tmp_path, include_key=False))
    assert read_env_file(path) == {
        "PATH": "/a b:/usr/bin",
        "LANG": "C.UTF-8",
        "BASSI_HOME": str(tmp_path),
        "ANTHROPIC_API_KEY": None,  # a placeholder: named, not copied
        "ANTHROPIC_MODEL": "m",
    }
    write_env_file(path, render_env_file(environ, tmp_path, include_key=True), force=True)
    assert read_env_file(path)["ANTHROPIC_API_KEY"] == "k'ey"


# --------------------------------------------------------------------------- README's field lists


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_fields(lead: str) -> list[str]:
    """The top-level names of the backquoted field list that follows `lead` in README."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    listed = text.split(lead, 1)[1].split("`", 2)[1]
    top_level = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", listed)  # sub-fields: {…} and […]
    return [name.strip() for name in top_level.split(",")]


def test_readme_lists_the_fields_of_debug_and_list_json(tmp_path: Path) -> None:
    assert readme_fields("`--json` prints the same as one object:") == REPORT_KEYS
    add_task(tmp_path)
    code, out, err = run_cli("schedule", "list", "--json")
    assert code == 0, err
    listed = [name.split(" ")[0] for name in readme_fields("`schedule list --json` prints an array with, per task:")]
    assert listed == list(json.loads(out)[0])


def test_a_damaged_registry_leaves_list_working_and_says_so(tmp_path: Path, isolated_home: Path) -> None:
    add_task(tmp_path)
    (isolated_home / "scheduled.json").write_text("{", encoding="utf-8")
    code, out, err = run_cli("schedule", "list")
    assert code == 0 and "nightly" in out
    assert err.startswith("missed runs not checked:") and "scheduled.json is damaged" in err and err.count("\n") == 1
    code, out, err = run_cli("schedule", "debug", "nightly")
    assert code == 1 and "scheduled.json is damaged" in err and err.count("\n") == 1
