"""Installed OS entries that drift from their task files (bassi_ci/scheduling/drift.py), through
the real CLI: a repository task is installed, its file changed by hand as a `git pull` would,
and `schedule list` / `debug` must notice until `schedule install` brings the entry in step.

The OS schedulers are the suite's recording stand-ins (systemctl fake, crontab stand-in,
launchctl stand-in); unit files re-written by an update are checked by `systemd-analyze verify`.
"""

from __future__ import annotations

import json
import os
import plistlib
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.scheduling import registry
from bassi_ci.scheduling.base import Entry
from bassi_ci.scheduling.cron import BEGIN, END
from bassi_ci.scheduling.systemd_units import render_timer
from tests.cli import run_cli
from tests.oracles import requires
from tests.os_schedulers import GUARD_DIR, standin_crontab_file
from tests.scheduling.standin import StandInCrontab
from tests.scheduling.systemd_fakes import FakeSystemd, install_fake_systemd
from tests.scheduling.test_launchd import StandIn, launchctl  # noqa: F401  # the launchctl stand-in fixture

NOW = "2027-03-10T08:00:00+00:00"
TIMER, SERVICE = "bassi-nightly.timer", "bassi-nightly.service"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository, the current folder, with no tasks yet."""
    monkeypatch.setenv("BASSI_NOW", NOW)
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemd:
    return install_fake_systemd(tmp_path, monkeypatch)


@pytest.fixture
def cron() -> StandInCrontab:
    return StandInCrontab(program=GUARD_DIR / "crontab", file=standin_crontab_file())


def add(backend: str, *extra: str, when: str = "monday 09:00", tz: str = "Europe/Berlin") -> None:
    code, _, err = run_cli(
        "schedule", "add", "Nightly", "--repo", "--when", when, "--tz", tz, "--prompt", "p", "--backend", backend,
        *extra,
    )  # fmt: skip
    assert code == 0, err


def task_file(repo: Path) -> Path:
    return repo / ".bassi" / "tasks" / "nightly.yaml"


def edit_by_hand(repo: Path, old: str, new: str) -> None:
    """Change the task file as `git pull` or an editor would: bassi is not told."""
    path = task_file(repo)
    text = path.read_text(encoding="utf-8")
    assert old in text, text
    path.write_text(text.replace(old, new), encoding="utf-8")


def listed() -> dict[str, Any]:
    code, out, err = run_cli("schedule", "list", "--repo", "--json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)[0]
    return document


def debug() -> dict[str, Any]:
    code, out, err = run_cli("schedule", "debug", "nightly", "--repo", "--json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def unit_dir() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "systemd" / "user"


def cron_lines(cron: StandInCrontab) -> list[str]:
    lines = cron.content().decode().splitlines()
    return lines[lines.index(BEGIN) + 1 : lines.index(END)]


def plist() -> dict[str, Any]:
    path = Path.home() / "Library" / "LaunchAgents" / "dev.bassi-ci.nightly.plist"
    document: dict[str, Any] = plistlib.loads(path.read_bytes())
    return document


def systemd_analyze_verify() -> None:
    done = subprocess.run(
        ["systemd-analyze", "--user", "--man=no", "verify", TIMER, SERVICE],
        cwd=unit_dir(),
        env={**os.environ, "SYSTEMD_COLORS": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "")


# --------------------------------------------------------------------------- the whole story


@requires("systemd-analyze")
def test_a_repo_task_changed_by_git_pull_is_out_of_date_until_installed_again(repo: Path, systemd: FakeSystemd) -> None:
    add("systemd")
    assert listed()["entry_out_of_date"] is False
    assert run_cli("schedule", "list", "--repo")[2] == ""  # no hint while everything is in step

    edit_by_hand(repo, "schedule: monday 09:00\ntimezone: Europe/Berlin", "schedule: daily 08:00\ntimezone: UTC")
    assert listed()["entry_out_of_date"] is True
    code, out, err = run_cli("schedule", "list", "--repo")
    assert code == 0 and "enabled, out of date" in out
    assert err.count("\n") == 1 and "bassi schedule install --all --repo" in err

    report = debug()
    assert {change["field"] for change in report["entry_changes"]} == {"schedule", "timezone"}
    code, out, _ = run_cli("schedule", "debug", "nightly", "--repo")
    assert (
        "installed: every Monday at 09:00 Europe/Berlin; task file now: every day at 08:00 UTC" in out
        and "bassi schedule install nightly --repo" in out
    ), out
    assert "OnCalendar=Mon *-*-* 09:00:00 Europe/Berlin" in (unit_dir() / TIMER).read_text()  # still the old one

    systemd.forget_calls()
    code, out, err = run_cli("schedule", "install", "nightly", "--repo")
    assert code == 0, err
    assert "Updated task 'nightly' with systemd." in out
    assert "OnCalendar=*-*-* 08:00:00 UTC" in (unit_dir() / TIMER).read_text()
    assert ["systemctl", "--user", "enable", "--now", TIMER] in systemd.changes()
    systemd_analyze_verify()
    assert listed()["entry_out_of_date"] is False
    assert debug()["entry_changes"] == []
    assert run_cli("schedule", "list", "--repo")[2] == ""


# --------------------------------------------------------------------------- per backend


def test_cron_a_changed_schedule_is_detected_and_install_all_updates_it(repo: Path, cron: StandInCrontab) -> None:
    add("cron", tz="UTC")
    assert cron_lines(cron)[-1].startswith("0 9 * * 1 ")
    edit_by_hand(repo, "schedule: monday 09:00", "schedule: daily 10:15")
    assert listed()["entry_out_of_date"] is True

    before = cron.content()
    code, out, err = run_cli("schedule", "install", "--all", "--repo", "--dry-run")
    assert code == 0, err
    assert "Would update task 'nightly':" in out and "15 10 * * * " in out
    assert cron.content() == before  # a dry run changes nothing

    code, out, err = run_cli("schedule", "install", "--all", "--repo")
    assert code == 0, err
    assert "Updated task 'nightly' with cron." in out
    assert cron_lines(cron)[-1].startswith("15 10 * * * ")
    assert listed()["entry_out_of_date"] is False
    code, out, _ = run_cli("schedule", "install", "--all", "--repo")
    assert code == 0 and out == "Every installed task is up to date; nothing to do.\n"


def test_launchd_a_changed_schedule_is_detected(repo: Path, launchctl: StandIn) -> None:  # noqa: F811
    add("launchd", tz="UTC")
    assert plist()["StartCalendarInterval"] == {"Weekday": 1, "Hour": 9, "Minute": 0}
    edit_by_hand(repo, "schedule: monday 09:00", "schedule: daily 10:15")
    assert listed()["entry_out_of_date"] is True
    assert [change["field"] for change in debug()["entry_changes"]] == ["schedule"]
    code, out, err = run_cli("schedule", "install", "nightly", "--repo")
    assert code == 0 and "Updated task 'nightly' with launchd." in out, err
    assert plist()["StartCalendarInterval"] == {"Hour": 10, "Minute": 15}
    assert listed()["entry_out_of_date"] is False


# --------------------------------------------------------------------------- what is not drift


def test_time_passing_is_not_drift_though_systemds_dst_bridge_would_render_differently(
    repo: Path, systemd: FakeSystemd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The timer's DST-bridge lines end two years after the install; comparing rendered text
    would call every old install out of date. Three years on, nothing in the task changed."""
    add("systemd", when="daily 02:30")  # Europe/Berlin at 02:30: a time DST skips, so bridge lines
    installed = (unit_dir() / TIMER).read_text()
    later = "2030-03-10T08:00:00+00:00"
    monkeypatch.setenv("BASSI_NOW", later)
    entry = Entry("nightly", "daily 02:30", "Europe/Berlin", (), repo, repo)
    assert render_timer(entry, datetime.fromisoformat(later)) != installed  # the text alone would differ
    assert listed()["entry_out_of_date"] is False
    assert debug()["entry_changes"] == []


def test_a_paused_task_is_not_out_of_date_but_a_hand_edited_pause_is(repo: Path, cron: StandInCrontab) -> None:
    add("cron", tz="UTC")
    assert run_cli("schedule", "pause", "nightly", "--repo")[0] == 0
    assert listed()["status"] == "paused" and listed()["entry_out_of_date"] is False
    assert run_cli("schedule", "resume", "nightly", "--repo")[0] == 0
    assert listed()["entry_out_of_date"] is False

    edit_by_hand(repo, "enabled: true", "enabled: false")  # the OS entry still fires
    assert listed()["entry_out_of_date"] is True
    code, out, _ = run_cli("schedule", "debug", "nightly", "--repo")
    assert code == 0
    assert "installed: every Monday at 09:00 UTC; task file now: every Monday at 09:00 UTC, paused" in out, out
    assert run_cli("schedule", "install", "--all", "--repo")[0] == 0
    assert cron_lines(cron)[-1].startswith("#0 9 * * 1 ")  # installed disabled, as a pause would
    assert listed()["entry_out_of_date"] is False


def test_the_same_schedule_spelled_otherwise_is_not_drift(repo: Path, cron: StandInCrontab) -> None:
    add("cron", when="daily 09:00", tz="UTC")
    edit_by_hand(repo, "schedule: daily 09:00", "schedule: every day at 09:00")
    assert listed()["entry_out_of_date"] is False


def test_an_install_recorded_by_an_older_bassi_cannot_tell_and_says_nothing(repo: Path, cron: StandInCrontab) -> None:
    add("cron", tz="UTC")
    old = registry.installation_of("nightly")
    assert old is not None and old.entry is not None
    registry.record_installation(registry.Installation(old.task_id, old.task_file, old.backend, old.installed_at))
    edit_by_hand(repo, "schedule: monday 09:00", "schedule: daily 10:15")
    assert listed()["entry_out_of_date"] is None
    assert debug()["entry_changes"] is None
    assert run_cli("schedule", "list", "--repo")[2] == ""
    code, out, _ = run_cli("schedule", "install", "nightly", "--repo")  # always brings it in step
    assert code == 0 and "Updated task 'nightly' with cron." in out and cron_lines(cron)[-1].startswith("15 10 * * * ")
    assert listed()["entry_out_of_date"] is False


def test_a_schedule_taken_out_of_the_file_is_drift_and_install_all_uninstalls(repo: Path, cron: StandInCrontab) -> None:
    cron.set(b"# mine\n")
    add("cron", tz="UTC")
    edit_by_hand(repo, "schedule: monday 09:00\n", "")
    assert listed()["entry_out_of_date"] is True
    code, out, err = run_cli("schedule", "install", "--all", "--repo")
    assert code == 0, err
    assert "Updated task 'nightly' (uninstalled: its file has no schedule now)." in out
    assert cron.content() == b"# mine\n" and registry.installation_of("nightly") is None


def test_not_installed_tasks_are_null_and_untouched_by_install_all(repo: Path, cron: StandInCrontab) -> None:
    add("cron", "--no-install", tz="UTC")
    assert listed()["entry_out_of_date"] is None
    code, out, _ = run_cli("schedule", "install", "--all", "--repo")
    assert code == 0 and out == "Every installed task is up to date; nothing to do.\n"
    assert not cron.file.exists() or BEGIN not in cron.content().decode()


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (("--all", "nightly"), "leave out NAME and --backend"),
        (("--all", "--backend", "cron"), "leave out NAME and --backend"),
        ((), "name the task to install, or give --all"),
    ],
)
def test_install_all_usage_errors_are_one_line_exit_2(
    repo: Path, cron: StandInCrontab, args: tuple[str, ...], wanted: str
) -> None:
    code, out, err = run_cli("schedule", "install", "--repo", *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and wanted in err and "Traceback" not in err, err


def test_a_task_without_a_workdir_is_judged_by_where_it_was_installed(
    tmp_path: Path, cron: StandInCrontab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task file without `workdir` runs in the folder it was installed from; listing it from
    elsewhere must not call it out of date."""
    monkeypatch.setenv("BASSI_NOW", NOW)
    folder, here, elsewhere = tmp_path / "tasks", tmp_path / "here", tmp_path / "elsewhere"
    for path in (folder, here, elsewhere):
        path.mkdir()
    (folder / "nightly.yaml").write_text("id: nightly\nprompt: p\nschedule: daily 09:00\ntimezone: UTC\n")
    monkeypatch.chdir(here)
    code, _, err = run_cli("schedule", "install", "nightly", "--tasks-dir", str(folder), "--backend", "cron")
    assert code == 0, err
    monkeypatch.chdir(elsewhere)
    code, out, err = run_cli("schedule", "list", "--tasks-dir", str(folder), "--json")
    assert code == 0 and json.loads(out)[0]["entry_out_of_date"] is False, err
    assert "workdir" not in (folder / "nightly.yaml").read_text()  # so it runs where it was installed
