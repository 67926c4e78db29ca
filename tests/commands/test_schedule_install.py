"""`bassi schedule add|install|uninstall|pause|resume|edit|delete` with the OS schedulers, through
the real CLI: each backend against its recording stand-in on PATH (tests/scheduling/: the
crontab stand-in, the systemctl fake, the launchctl stand-in), the installation registry, the
env file, dry runs that change nothing, and failures half-way that leave everything as it was.

The unit files a real `add --backend systemd` writes are checked by `systemd-analyze verify`.
"""

from __future__ import annotations

import json
import os
import plistlib
import shlex
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bassi_ci.errors import StoreError
from bassi_ci.scheduling import backends, lifecycle
from bassi_ci.scheduling.backends import auto_backend
from bassi_ci.scheduling.base import SchedulerError
from bassi_ci.scheduling.cron import BEGIN, END, command_of
from bassi_ci.scheduling.registry import installation_of, registry_path
from tests.cli import run_cli
from tests.oracles import requires
from tests.os_schedulers import GUARD_DIR, standin_crontab_file
from tests.scheduling.standin import StandInCrontab
from tests.scheduling.systemd_fakes import FakeSystemd, install_fake_systemd, snapshot
from tests.scheduling.test_launchd import StandIn, launchctl  # noqa: F401  # the launchctl stand-in fixture
from tests.scheduling.test_systemd import _unwritable_unit_dir

NOW = "2027-03-10T08:00:00+00:00"
TIMER, SERVICE = "bassi-nightly.timer", "bassi-nightly.service"
LABEL = "dev.bassi-ci.nightly"


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BASSI_NOW", NOW)
    monkeypatch.chdir(tmp_path)  # the default workdir of a personal task


@pytest.fixture
def cron() -> StandInCrontab:
    """The suite's stand-in crontab (tests/os_schedulers.py), which `--backend cron` finds on PATH."""
    return StandInCrontab(program=GUARD_DIR / "crontab", file=standin_crontab_file())


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemd:
    return install_fake_systemd(tmp_path, monkeypatch)


def unit_dir() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "systemd" / "user"


def agents_dir() -> Path:
    return Path.home() / "Library" / "LaunchAgents"


def add(*extra: str, when: str = "daily 09:00", tz: str = "UTC") -> tuple[int, str, str]:
    return run_cli("schedule", "add", "Nightly", "--when", when, "--prompt", "p", "--tz", tz, *extra)


def task_file(home: Path) -> Path:
    return home / "tasks" / "nightly.yaml"


def block(cron: StandInCrontab) -> list[str]:
    """bassi's lines in the stand-in crontab."""
    if not cron.file.exists():
        return []
    lines = cron.content().decode().splitlines()
    return lines[lines.index(BEGIN) + 1 : lines.index(END)] if BEGIN in lines else []


def world(home: Path, cron: StandInCrontab) -> dict[str, Any]:
    """Everything a lifecycle command may change: BASSI_HOME, unit files, plists, the crontab."""
    return {
        "bassi_home": without_caches(snapshot(home)),
        "units": snapshot(unit_dir()),
        "agents": snapshot(agents_dir()),
        "crontab": cron.content() if cron.file.exists() else None,
    }


def without_caches(files: dict[str, bytes | None]) -> dict[str, bytes | None]:
    """BASSI_HOME's state without BASSI_HOME/cache: derived data any command may write. (The first
    task check of a process writes the compiled task schema there, so whether a dry run writes it
    depends on which test ran before in the same process.)"""
    kept = {path: content for path, content in files.items() if path != "cache" and not path.startswith("cache/")}
    return {} if set(kept) == {"."} else kept


def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert err.startswith("bassi: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


# -- add installs, per backend ------------------------------------------------------------------


def test_add_with_systemd_writes_both_units_enables_the_timer_and_records_it(
    systemd: FakeSystemd, isolated_home: Path
) -> None:
    code, out, err = add("--backend", "systemd")
    assert code == 0, err
    timer, service = unit_dir() / TIMER, unit_dir() / SERVICE
    assert "OnCalendar=*-*-* 09:00:00 UTC" in timer.read_text()
    assert "execute --ci nightly" in service.read_text()
    assert systemd.changes() == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", TIMER],
    ]
    assert systemd.enabled(TIMER)
    installed = installation_of("nightly")
    assert installed is not None and installed.backend == "systemd"
    assert installed.task_file == str(task_file(isolated_home).resolve())
    env_file = isolated_home / "env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    for line in (
        f"Saved to {task_file(isolated_home)}",
        f"Wrote {env_file} (the environment of scheduled runs; keys are not copied into it)",
        f"Wrote {timer}",
        f"Wrote {service}",
        "Ran: systemctl --user daemon-reload",
        f"Ran: systemctl --user enable --now {TIMER}",
    ):
        assert line in out.splitlines(), out


def test_add_with_cron_writes_the_block_and_records_it(cron: StandInCrontab, isolated_home: Path) -> None:
    cron.set(b"# mine\n5 4 * * * date\n")
    code, out, err = add("--backend", "cron")
    assert code == 0, err
    lines = block(cron)
    assert lines[0] == "# bassi-ci:nightly"
    assert lines[-1].startswith("0 9 * * * ") and lines[-1].endswith("execute --ci nightly'")
    assert cron.content().endswith(b"# mine\n5 4 * * * date\n")
    assert cron.calls()[-1] == "-"
    assert "Updated the crontab" in out.splitlines()
    installed = installation_of("nightly")
    assert installed is not None and installed.backend == "cron"


def test_add_with_launchd_writes_the_plist_and_bootstraps_it(launchctl: StandIn, isolated_home: Path) -> None:  # noqa: F811
    code, out, err = add("--backend", "launchd")
    assert code == 0, err
    plist = agents_dir() / f"{LABEL}.plist"
    document = plistlib.loads(plist.read_bytes())
    assert document["StartCalendarInterval"] == {"Hour": 9, "Minute": 0}
    assert document["StandardOutPath"] == str(isolated_home / "logs" / "nightly" / "launchd.out.log")
    assert [call[0] for call in launchctl.calls()] == ["enable", "bootstrap"]
    assert launchctl.launchd()["loaded"] == [LABEL]
    assert f"Wrote {plist}" in out.splitlines()
    installed = installation_of("nightly")
    assert installed is not None and installed.backend == "launchd"


def test_no_install_touches_no_scheduler(cron: StandInCrontab, isolated_home: Path) -> None:
    code, _, err = add("--no-install")
    assert (code, err) == (0, "")
    assert cron.calls() == [] and installation_of("nightly") is None
    assert not (isolated_home / "env").exists()


# -- pause, resume, edit, delete, uninstall -------------------------------------------------------


def test_systemd_lifecycle(systemd: FakeSystemd, isolated_home: Path) -> None:
    assert add("--backend", "systemd")[0] == 0
    code, out, _ = run_cli("schedule", "pause", "nightly")
    assert code == 0 and not systemd.enabled(TIMER) and "Paused task 'nightly'." in out
    assert f"Ran: systemctl --user disable --now {TIMER}" in out
    assert "enabled: false" in task_file(isolated_home).read_text()
    assert run_cli("schedule", "resume", "nightly")[0] == 0 and systemd.enabled(TIMER)

    systemd.forget_calls()
    assert run_cli("schedule", "edit", "nightly", "--prompt", "other")[0] == 0
    assert systemd.changes() == []  # the entry did not change: nothing to re-install
    code, out, err = run_cli("schedule", "edit", "nightly", "--when", "daily 10:15")
    assert code == 0, err
    assert "OnCalendar=*-*-* 10:15:00 UTC" in (unit_dir() / TIMER).read_text()
    assert ["systemctl", "--user", "enable", "--now", TIMER] in systemd.changes()

    code, out, err = run_cli("schedule", "delete", "nightly")
    assert code == 0, err
    assert snapshot(unit_dir()) == {".": None}
    assert not task_file(isolated_home).exists() and installation_of("nightly") is None
    assert out.splitlines()[-1] == "Deleted task 'nightly'."
    assert f"Removed {unit_dir() / TIMER}" in out


def test_cron_lifecycle(cron: StandInCrontab, isolated_home: Path) -> None:
    cron.set(b"# mine\n")
    assert add("--backend", "cron")[0] == 0
    assert run_cli("schedule", "pause", "nightly")[0] == 0
    assert block(cron)[0] == "# bassi-ci:nightly (paused)" and block(cron)[-1].startswith("#0 9 * * * ")
    assert run_cli("schedule", "resume", "nightly")[0] == 0
    assert block(cron)[-1].startswith("0 9 * * * ")
    assert run_cli("schedule", "edit", "nightly", "--when", "daily 10:15")[0] == 0
    assert block(cron)[-1].startswith("15 10 * * * ")
    code, out, err = run_cli("schedule", "uninstall", "nightly")
    assert code == 0, err
    assert cron.content() == b"# mine\n" and installation_of("nightly") is None
    assert task_file(isolated_home).exists()
    assert "Uninstalled task 'nightly' from cron." in out
    assert run_cli("schedule", "uninstall", "nightly")[1] == "Task 'nightly' is not installed; nothing to do.\n"
    code, out, _ = run_cli("schedule", "install", "nightly")  # auto here: cron (tests/os_schedulers.py)
    assert code == 0 and "Installed task 'nightly' with cron." in out and block(cron)
    assert run_cli("schedule", "delete", "nightly")[0] == 0
    assert cron.content() == b"# mine\n" and not task_file(isolated_home).exists()


def test_launchd_lifecycle(launchctl: StandIn, isolated_home: Path) -> None:  # noqa: F811
    plist = agents_dir() / f"{LABEL}.plist"
    assert add("--backend", "launchd")[0] == 0
    assert run_cli("schedule", "pause", "nightly")[0] == 0
    assert launchctl.launchd() == {"loaded": [], "disabled": [LABEL]}
    assert run_cli("schedule", "resume", "nightly")[0] == 0
    assert launchctl.launchd() == {"loaded": [LABEL], "disabled": []}
    assert run_cli("schedule", "edit", "nightly", "--when", "daily 10:15")[0] == 0
    assert plistlib.loads(plist.read_bytes())["StartCalendarInterval"] == {"Hour": 10, "Minute": 15}
    assert launchctl.launchd()["loaded"] == [LABEL]
    assert run_cli("schedule", "delete", "nightly")[0] == 0
    assert not plist.exists() and launchctl.launchd()["loaded"] == []
    assert not task_file(isolated_home).exists() and installation_of("nightly") is None


# -- dry runs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["systemd", "cron", "launchd"])
def test_a_dry_run_changes_nothing_and_shows_exactly_what_add_then_writes(
    backend: str,
    request: pytest.FixtureRequest,
    cron: StandInCrontab,
    isolated_home: Path,
) -> None:
    fake = request.getfixturevalue({"systemd": "systemd", "launchd": "launchctl", "cron": "cron"}[backend])
    cron.set(b"# mine\n")
    before = world(isolated_home, cron)
    code, out, err = add("--backend", backend, "--dry-run", "--json")
    assert code == 0, err
    assert world(isolated_home, cron) == before
    assert not registry_path().exists() and not task_file(isolated_home).exists()
    plan = json.loads(out)
    assert (plan["backend"], plan["env_file"]) == (backend, {"path": str(isolated_home / "env"), "created": True})

    assert add("--backend", backend)[0] == 0
    assert plan["task_file"] == {"path": str(task_file(isolated_home)), "content": task_file(isolated_home).read_text()}
    assert [{"path": f["path"], "content": Path(f["path"]).read_text()} for f in plan["files"]] == plan["files"]
    if backend == "cron":
        assert plan["crontab"] == cron.content().decode()
    if backend == "systemd":
        assert plan["commands"] == fake.changes()
    if backend == "launchd":
        assert plan["commands"] == [["launchctl", *call] for call in fake.calls()]


def test_a_text_dry_run_shows_contents_and_commands(systemd: FakeSystemd, isolated_home: Path) -> None:
    code, out, err = add("--backend", "systemd", "--dry-run")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Dry run: nothing was changed."
    assert f"Would write the task file {task_file(isolated_home)}" in lines
    assert f"Would write {unit_dir() / TIMER}" in lines and "    OnCalendar=*-*-* 09:00:00 UTC" in lines
    assert lines[-1] == f"Would run: systemctl --user enable --now {TIMER}"
    assert systemd.calls() == [] and not isolated_home.exists()


def test_edit_and_install_dry_runs_change_nothing(cron: StandInCrontab, isolated_home: Path) -> None:
    assert add("--backend", "cron")[0] == 0
    before = world(isolated_home, cron)
    code, out, err = run_cli("schedule", "edit", "nightly", "--when", "daily 11:00", "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert "schedule: daily 11:00" in plan["task_file"]["content"]
    assert "\n0 11 * * * " in plan["crontab"]
    code, out, err = run_cli("schedule", "install", "nightly", "--dry-run")
    assert code == 0, err
    assert world(isolated_home, cron) == before
    assert "--json goes with --dry-run" in one_line_error(*run_cli("schedule", "install", "nightly", "--json")[::2])


# -- failures half-way leave everything as it was ----------------------------------------------


def test_a_failing_systemctl_leaves_no_task_no_units_and_no_record(systemd: FakeSystemd, isolated_home: Path) -> None:
    systemd.fail_on("enable")
    message = one_line_error(*add("--backend", "systemd")[::2])
    assert "enable --now bassi-nightly.timer failed (exit 1): Failed to enable unit: Access denied" in message
    assert "the task was not added (fix that and run the command again, or add --no-install)" in message
    assert "second line" not in message
    assert snapshot(unit_dir()) in ({}, {".": None})
    assert not task_file(isolated_home).exists() and not registry_path().exists()
    assert not (isolated_home / "env").exists()


def test_an_unwritable_unit_folder_leaves_everything_as_it_was(
    systemd: FakeSystemd, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _unwritable_unit_dir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder.parent.parent))
    before = snapshot(folder)
    message = one_line_error(*add("--backend", "systemd")[::2])
    assert f"cannot write {folder}/{TIMER}" in message
    assert snapshot(folder) == before and systemd.changes() == []
    assert not task_file(isolated_home).exists() and not registry_path().exists()


def test_a_missing_crontab_stores_nothing(isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    message = one_line_error(*add("--backend", "cron")[::2])
    assert "the cron backend needs the `crontab` program, which is not installed" in message
    assert not isolated_home.exists()


def test_a_refused_crontab_write_stores_nothing(cron: StandInCrontab, isolated_home: Path) -> None:
    cron.set(b"# mine\n")
    cron.refuse_writes()
    message = one_line_error(*add("--backend", "cron")[::2])
    assert "refused the new crontab" in message and "the task was not added" in message
    assert cron.content() == b"# mine\n"
    assert not task_file(isolated_home).exists() and not registry_path().exists()


def test_a_failing_uninstall_keeps_the_task_and_a_failing_pause_keeps_it_enabled(
    systemd: FakeSystemd, isolated_home: Path
) -> None:
    assert add("--backend", "systemd")[0] == 0
    systemd.fail_on("disable")
    message = one_line_error(*run_cli("schedule", "delete", "nightly")[::2])
    assert message.endswith("; the task was kept (fix that and delete it again)\n")
    assert task_file(isolated_home).exists() and (unit_dir() / TIMER).exists() and installation_of("nightly")
    one_line_error(*run_cli("schedule", "pause", "nightly")[::2])
    assert "enabled: true" in task_file(isolated_home).read_text() and systemd.enabled(TIMER)


def test_a_failed_edit_puts_the_task_back(systemd: FakeSystemd, isolated_home: Path) -> None:
    assert add("--backend", "systemd")[0] == 0
    before = task_file(isolated_home).read_text(), (unit_dir() / TIMER).read_text()
    systemd.fail_on("daemon-reload")
    message = one_line_error(*run_cli("schedule", "edit", "nightly", "--when", "daily 10:00")[::2])
    assert message.endswith("; the task was left as it was\n")
    assert (task_file(isolated_home).read_text(), (unit_dir() / TIMER).read_text()) == before


# -- choosing and moving backends -------------------------------------------------------------


def test_an_installed_task_moves_to_the_backend_asked_for(
    systemd: FakeSystemd, cron: StandInCrontab, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bin = os.environ["PATH"].split(os.pathsep)[0]
    monkeypatch.setenv("PATH", f"{fake_bin}:{GUARD_DIR}:/usr/bin:/bin")  # fake systemctl, stand-in crontab
    cron.set(b"# mine\n")
    assert add("--backend", "cron")[0] == 0
    systemd.fail_on("enable")
    one_line_error(*run_cli("schedule", "install", "nightly", "--backend", "systemd")[::2])
    assert block(cron) and snapshot(unit_dir()) in ({}, {".": None})  # still in cron, and only there
    systemd.fail_on(None)
    cron.refuse_writes()  # the new entry is in, then taking the old one out fails: the new one goes again
    message = one_line_error(*run_cli("schedule", "install", "nightly", "--backend", "systemd")[::2])
    assert "refused the new crontab" in message
    assert block(cron) and snapshot(unit_dir()) in ({}, {".": None}) and not systemd.enabled(TIMER)
    cron.file.with_name(cron.file.name + ".refuse").unlink()
    code, _, err = run_cli("schedule", "install", "nightly", "--backend", "systemd")
    assert code == 0, err
    assert cron.content() == b"# mine\n" and (unit_dir() / TIMER).exists()
    installed = installation_of("nightly")
    assert installed is not None and installed.backend == "systemd"
    assert run_cli("schedule", "pause", "nightly")[0] == 0 and not systemd.enabled(TIMER)  # follows the registry


def test_a_move_the_registry_cannot_record_leaves_the_task_where_it_was(
    systemd: FakeSystemd, cron: StandInCrontab, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bin = os.environ["PATH"].split(os.pathsep)[0]
    monkeypatch.setenv("PATH", f"{fake_bin}:{GUARD_DIR}:/usr/bin:/bin")  # fake systemctl, stand-in crontab
    cron.set(b"# mine\n")
    assert add("--backend", "cron")[0] == 0
    installed = cron.content()

    def full_disk(*_: object) -> None:
        raise StoreError(f"cannot write {registry_path()}: No space left on device")

    monkeypatch.setattr(lifecycle, "record_installation", full_disk)
    code, _, err = run_cli("schedule", "install", "nightly", "--backend", "systemd")
    assert code == 1 and err.count("\n") == 1, err
    # As it was: still in cron (not in no scheduler at all), not in systemd, and recorded as cron.
    assert cron.content() == installed
    assert snapshot(unit_dir()) in ({}, {".": None}) and not systemd.enabled(TIMER)
    recorded = installation_of("nightly")
    assert recorded is not None and recorded.backend == "cron"


@pytest.mark.parametrize("backend", ["cron", "systemd"])
def test_an_entry_another_bassi_home_installed_is_never_taken_over(
    backend: str,
    systemd: FakeSystemd,
    cron: StandInCrontab,
    isolated_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One user, two BASSI_HOMEs (say work and personal): they share one crontab and one unit folder.
    fake_bin = os.environ["PATH"].split(os.pathsep)[0]
    monkeypatch.setenv("PATH", f"{fake_bin}:{GUARD_DIR}:/usr/bin:/bin")  # fake systemctl, stand-in crontab
    assert add("--backend", backend)[0] == 0
    before = world(isolated_home, cron)
    other_home = tmp_path / "other-home"
    monkeypatch.setenv("BASSI_HOME", str(other_home))
    message = one_line_error(*add("--backend", backend)[::2])
    assert f"already has an entry for the task id 'nightly' that this BASSI_HOME ({other_home})" in message
    assert world(isolated_home, cron) == before  # the first home's entry, untouched
    assert not task_file(other_home).exists() and installation_of("nightly") is None


def test_the_same_id_from_another_folder_is_refused_naming_the_installed_file(
    cron: StandInCrontab, isolated_home: Path, tmp_path: Path
) -> None:
    assert add("--backend", "cron")[0] == 0
    other = tmp_path / "other"
    message = one_line_error(*add("--backend", "cron", "--tasks-dir", str(other))[::2])
    assert (
        f"another task with the id 'nightly' is installed with cron from {task_file(isolated_home).resolve()}"
        in message
    )
    assert not (other / "nightly.yaml").exists()


def test_a_task_of_another_folder_runs_by_its_file(cron: StandInCrontab, tmp_path: Path) -> None:
    folder = tmp_path / "team tasks"
    assert add("--backend", "cron", "--tasks-dir", str(folder))[0] == 0
    script = command_of(block(cron)[-1])[-1]
    assert shlex.split(script)[-3:] == ["execute", "--ci", str(folder / "nightly.yaml")]


def test_windows_is_refused_with_the_alternative(monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> None:
    monkeypatch.setattr(backends, "sys", SimpleNamespace(platform="win32"))
    message = one_line_error(*add()[::2])
    assert "Windows Task Scheduler is not supported yet" in message and "'bassi scheduler run'" in message
    assert not isolated_home.exists()


def test_auto_picks_launchd_on_macos_then_a_working_systemd_then_cron(systemd: FakeSystemd) -> None:
    answering = str(Path(os.environ["PATH"].split(":")[0]) / "systemctl")  # the fake: show-environment exits 0
    failing = str(GUARD_DIR / "systemctl")  # "Failed to connect to bus"
    programs = {"systemctl": answering, "crontab": "/usr/bin/crontab"}
    assert auto_backend("darwin", programs.get) == "launchd"
    assert auto_backend("linux", programs.get) == "systemd"
    assert auto_backend("linux", {**programs, "systemctl": failing}.get) == "cron"
    assert auto_backend("linux", {"crontab": "/usr/bin/crontab"}.get) == "cron"
    with pytest.raises(SchedulerError, match=r"install cron .* or run 'bassi scheduler run'$"):
        auto_backend("linux", {"systemctl": failing}.get)
    for platform in ("win32", "cygwin"):
        with pytest.raises(SchedulerError, match="not supported yet"):
            auto_backend(platform, programs.get)


# -- what cannot be installed ---------------------------------------------------------------------


def test_a_once_task_on_launchd_is_a_clear_error(launchctl: StandIn, isolated_home: Path) -> None:  # noqa: F811
    message = one_line_error(*add("--backend", "launchd", when="once 2027-04-01 10:00")[::2])
    assert "launchd cannot install it: choose another --backend (systemd takes every schedule)" in message
    assert launchctl.calls() == [] and not isolated_home.exists()


def test_an_on_demand_task_is_stored_not_installed(cron: StandInCrontab, isolated_home: Path) -> None:
    (isolated_home / "tasks").mkdir(parents=True)
    (isolated_home / "tasks" / "adhoc-report.yaml").write_text("id: adhoc-report\nname: Adhoc\nprompt: p\n")
    message = one_line_error(*run_cli("schedule", "install", "adhoc-report")[::2])
    assert "has no schedule (it runs on demand), so there is nothing to install" in message
    assert cron.calls() == []


def test_deleting_an_installed_task_whose_file_broke_also_removes_its_entry(
    cron: StandInCrontab, isolated_home: Path
) -> None:
    cron.set(b"# mine\n")
    assert add("--backend", "cron")[0] == 0
    task_file(isolated_home).write_text("prompt: [\n")  # e.g. a bad hand edit
    code, out, err = run_cli("schedule", "delete", "nightly")
    assert code == 0, err
    assert "Updated the crontab" in out and "Deleted task 'nightly'." in out
    assert cron.content() == b"# mine\n" and installation_of("nightly") is None
    assert not task_file(isolated_home).exists()


# -- the env file and the key -------------------------------------------------------------------


def test_the_key_goes_into_the_env_file_only_with_store_key(
    cron: StandInCrontab, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-ant-test-0123456789abcdef"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    code, out, err = add()
    assert code == 0 and secret not in out + err
    env_file = isolated_home / "env"
    assert secret not in env_file.read_text() and "# ANTHROPIC_API_KEY=" in env_file.read_text()
    assert run_cli("schedule", "delete", "nightly")[0] == 0
    code, out, err = add("--store-key")
    assert code == 0 and secret not in out + err
    assert secret not in env_file.read_text()  # the user's file is never overwritten
    assert f"--store-key: {env_file} exists and is kept as it is" in err
    env_file.unlink()
    assert run_cli("schedule", "install", "nightly", "--store-key")[0] == 0
    assert f"ANTHROPIC_API_KEY={secret}" in env_file.read_text()


# -- the real checker ---------------------------------------------------------------------------


@requires("systemd-analyze")
def test_units_written_by_add_pass_systemd_analyze_verify(systemd: FakeSystemd, isolated_home: Path) -> None:
    assert add("--backend", "systemd", when="daily 02:30", tz="Europe/Berlin")[0] == 0  # with DST bridge lines
    env = {**os.environ, "SYSTEMD_COLORS": "0"}
    done = subprocess.run(
        ["systemd-analyze", "--user", "--man=no", "verify", TIMER, SERVICE],
        cwd=unit_dir(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "")


def test_with_the_default_bassi_home_a_personal_task_works_where_it_was_added(
    cron: StandInCrontab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """~/.bassi/tasks looks like a repository's .bassi/tasks; it must not make ~ the workdir."""
    monkeypatch.delenv("BASSI_HOME")
    here = tmp_path / "reports"
    here.mkdir()
    monkeypatch.chdir(here)
    code, _, err = add("--backend", "cron")
    assert code == 0, err
    assert f"workdir: {here}" in (Path.home() / ".bassi" / "tasks" / "nightly.yaml").read_text()
    assert f"cd {here} && exec" in command_of(block(cron)[-1])[-1]


def test_uninstall_by_id_works_after_the_task_file_is_gone(cron: StandInCrontab, isolated_home: Path) -> None:
    cron.set(b"# mine\n")
    assert add("--backend", "cron")[0] == 0
    task_file(isolated_home).unlink()  # removed by hand: the OS entry would be left behind
    code, out, err = run_cli("schedule", "uninstall", "nightly")
    assert "Uninstalled task 'nightly' from cron." in out
    assert code == 0, err
    assert cron.content() == b"# mine\n" and installation_of("nightly") is None
    code, _, err = run_cli("schedule", "uninstall", "nightly")
    assert code == 2 and "no task" in err.lower()


def test_a_registry_that_cannot_be_written_takes_the_new_entry_out_again(
    systemd: FakeSystemd, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk cannot be made here; the registry's write fails as it would then."""

    def full_disk(*_: object) -> None:
        raise StoreError(f"cannot write {registry_path()}: No space left on device")

    monkeypatch.setattr(lifecycle, "record_installation", full_disk)
    code, _, err = add("--backend", "systemd")
    assert code == 1 and err == f"bassi: error: cannot write {registry_path()}: No space left on device\n"
    assert snapshot(unit_dir()) in ({}, {".": None}) and not systemd.enabled(TIMER)
    assert not task_file(isolated_home).exists()


def test_resume_starts_a_new_watch_for_missed_runs_and_pause_keeps_it(
    cron: StandInCrontab, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Due times while a task was paused are not missed runs: a resume records a new install time."""
    assert add("--backend", "cron")[0] == 0
    installed = installation_of("nightly")
    assert installed is not None
    monkeypatch.setenv("BASSI_NOW", "2027-03-12T08:00:00+00:00")
    assert run_cli("schedule", "pause", "nightly")[0] == 0
    paused = installation_of("nightly")
    assert paused is not None and paused.installed_at == installed.installed_at
    assert paused.entry is not None and paused.entry["enabled"] is False  # so the paused entry is not "out of date"
    monkeypatch.setenv("BASSI_NOW", "2027-03-20T08:00:00+00:00")
    assert run_cli("schedule", "resume", "nightly")[0] == 0
    resumed = installation_of("nightly")
    assert resumed is not None and resumed.installed_at.startswith("2027-03-20T08:00")
    listed = json.loads(run_cli("schedule", "list", "--json")[1])
    assert listed[0]["missed_runs"] == 0
