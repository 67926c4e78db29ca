"""The systemd backend end to end against recording `systemctl`/`loginctl` stand-ins on PATH:
what it writes, which commands it runs in which order, and that a failure half-way leaves the
unit folder exactly as it was."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from bassi_ci.scheduling.base import MARKER, Plan, SchedulerError
from bassi_ci.scheduling.systemd import SystemdBackend, default_unit_dir
from tests.scheduling.systemd_fakes import (
    FAILURE,
    NEXT_ELAPSE,
    FakeSystemd,
    fixed_now,
    install_fake_systemd,
    make_entry,
    snapshot,
)

TIMER, SERVICE = "bassi-nightly.timer", "bassi-nightly.service"


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemd:
    return install_fake_systemd(tmp_path, monkeypatch)


@pytest.fixture
def unit_dir(tmp_path: Path) -> Path:
    return tmp_path / "config" / "systemd" / "user"


@pytest.fixture
def backend(unit_dir: Path) -> SystemdBackend:
    return SystemdBackend(unit_dir=unit_dir, now=fixed_now)


def ctl(*args: str) -> list[str]:
    return ["systemctl", "--user", *args]


def files_on_disk(plan: Plan) -> list[dict[str, str | None]]:
    return [
        {"path": str(change.path), "content": change.path.read_text() if change.path.exists() else None}
        for change in plan.files
    ]


def test_the_unit_folder_follows_xdg_config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_unit_dir() == tmp_path / "xdg" / "systemd" / "user"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/ignored")  # the XDG spec: relative values are invalid
    assert default_unit_dir() == Path.home() / ".config" / "systemd" / "user"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert SystemdBackend().unit_dir == Path.home() / ".config" / "systemd" / "user"


def test_install_writes_both_units_then_reloads_and_enables(
    fake: FakeSystemd, backend: SystemdBackend, unit_dir: Path, tmp_path: Path
) -> None:
    entry = make_entry(tmp_path)
    backend.apply(backend.plan_install(entry))

    assert sorted(path.name for path in unit_dir.iterdir()) == [SERVICE, TIMER]
    for name in (TIMER, SERVICE):
        assert (unit_dir / name).read_text().startswith(f"# {MARKER} task=nightly:")
    assert fake.changes() == [ctl("daemon-reload"), ctl("enable", "--now", TIMER)]
    assert fake.enabled(TIMER)

    status = backend.status("nightly")
    assert (status.installed, status.enabled, status.os_next_runs) == (True, True, (NEXT_ELAPSE,))
    assert status.command == entry.command  # read back from ExecStart=
    assert status.paths == (unit_dir / TIMER, unit_dir / SERVICE)
    assert status.details["logs"] == f"journalctl --user -u {SERVICE}"


def test_dry_run_plan_is_exactly_what_apply_writes_and_runs(
    fake: FakeSystemd, backend: SystemdBackend, unit_dir: Path, tmp_path: Path
) -> None:
    plan = backend.plan_install(make_entry(tmp_path, schedule="daily 02:30"))
    preview = plan.to_json()
    assert not unit_dir.exists() and fake.calls() == []  # planning changes nothing

    backend.apply(plan)
    assert preview["files"] == files_on_disk(plan)
    assert preview["commands"] == fake.changes()
    assert preview["backend"] == "systemd" and preview["crontab"] is None


def test_pause_resume_and_uninstall_run_the_documented_commands(
    fake: FakeSystemd, backend: SystemdBackend, unit_dir: Path, tmp_path: Path
) -> None:
    entry = make_entry(tmp_path)
    backend.apply(backend.plan_install(entry))
    installed = snapshot(unit_dir)
    fake.forget_calls()

    backend.apply(backend.plan_enable(entry, False))
    assert fake.calls() == [ctl("is-enabled", TIMER), ctl("disable", "--now", TIMER)]
    assert snapshot(unit_dir) == installed  # paused: the files stay, the timer is off
    assert not fake.enabled(TIMER)
    assert backend.status("nightly").enabled is False
    fake.forget_calls()

    backend.apply(backend.plan_enable(entry, True))
    assert fake.changes() == [ctl("daemon-reload"), ctl("enable", "--now", TIMER)]
    assert snapshot(unit_dir) == installed and fake.enabled(TIMER)
    fake.forget_calls()

    plan = backend.plan_uninstall("nightly")
    assert plan.to_json()["commands"] == [ctl("disable", "--now", TIMER), ctl("daemon-reload")]
    backend.apply(plan)
    # disable runs while the unit file still exists: `systemctl disable` of a missing file fails.
    assert fake.changes() == [ctl("disable", "--now", TIMER), ctl("daemon-reload")]
    assert list(unit_dir.iterdir()) == []
    assert backend.status("nightly").installed is False
    assert backend.plan_uninstall("nightly").to_json()["commands"] == []  # nothing left to remove


def test_a_paused_task_is_installed_with_its_timer_disabled(
    fake: FakeSystemd, backend: SystemdBackend, unit_dir: Path, tmp_path: Path
) -> None:
    backend.apply(backend.plan_install(make_entry(tmp_path, enabled=False)))
    assert (unit_dir / TIMER).exists() and (unit_dir / SERVICE).exists()
    assert fake.changes() == [ctl("daemon-reload"), ctl("disable", "--now", TIMER)]
    assert not fake.enabled(TIMER)


def test_pausing_what_is_not_installed_changes_nothing(
    fake: FakeSystemd, backend: SystemdBackend, tmp_path: Path
) -> None:
    plan = backend.plan_enable(make_entry(tmp_path), False)
    assert plan.to_json()["commands"] == [] and plan.notes
    backend.apply(plan)
    assert fake.calls() == []


def test_failing_systemctl_on_reinstall_puts_back_the_old_units_and_state(
    fake: FakeSystemd, backend: SystemdBackend, unit_dir: Path, tmp_path: Path
) -> None:
    backend.apply(backend.plan_install(make_entry(tmp_path)))
    before = snapshot(unit_dir)
    fake.forget_calls()
    fake.fail_on("enable")

    with pytest.raises(SchedulerError) as failure:
        backend.apply(backend.plan_install(make_entry(tmp_path, schedule="weekdays 07:15")))

    message = str(failure.value)
    assert message == f"systemctl --user enable --now {TIMER} failed (exit 1): {FAILURE}"
    assert snapshot(unit_dir) == before
    # The new units were loaded, so the old ones are reloaded; the timer was on, so it goes back on.
    assert fake.changes()[-2:] == [ctl("daemon-reload"), ctl("enable", "--now", TIMER)]


def test_failing_systemctl_on_a_first_install_leaves_no_trace(
    fake: FakeSystemd, backend: SystemdBackend, unit_dir: Path, tmp_path: Path
) -> None:
    fake.fail_on("daemon-reload")
    with pytest.raises(SchedulerError, match=r"^systemctl --user daemon-reload failed \(exit 1\)"):
        backend.apply(backend.plan_install(make_entry(tmp_path)))
    assert not (tmp_path / "config").exists()  # even the folders it made are gone
    assert not fake.enabled(TIMER)


def test_failing_enable_on_a_first_install_turns_the_new_timer_off_before_removing_it(
    fake: FakeSystemd, backend: SystemdBackend, unit_dir: Path, tmp_path: Path
) -> None:
    unit_dir.mkdir(parents=True)
    fake.fail_on("--now")
    with pytest.raises(SchedulerError):
        backend.apply(backend.plan_install(make_entry(tmp_path)))
    assert snapshot(unit_dir) == {".": None}
    assert fake.changes() == [
        ctl("daemon-reload"),
        ctl("enable", "--now", TIMER),
        ctl("disable", "--now", TIMER),  # rollback (fails too here: best effort)
        ctl("daemon-reload"),
    ]


def test_failing_disable_on_uninstall_keeps_the_units(
    fake: FakeSystemd, backend: SystemdBackend, unit_dir: Path, tmp_path: Path
) -> None:
    backend.apply(backend.plan_install(make_entry(tmp_path)))
    before = snapshot(unit_dir)
    fake.fail_on("disable")
    with pytest.raises(SchedulerError, match="disable --now"):
        backend.apply(backend.plan_uninstall("nightly"))
    assert snapshot(unit_dir) == before
    assert fake.enabled(TIMER)


def test_a_missing_systemctl_is_a_clear_error_and_changes_nothing(unit_dir: Path, tmp_path: Path) -> None:
    backend = SystemdBackend(unit_dir=unit_dir, systemctl=str(tmp_path / "no-such-systemctl"), now=fixed_now)
    with pytest.raises(SchedulerError, match=r"no-such-systemctl not found: .*use --backend cron"):
        backend.apply(backend.plan_install(make_entry(tmp_path)))
    assert not (tmp_path / "config").exists()


def _unwritable_unit_dir(tmp_path: Path) -> Path:
    """A unit folder that cannot be written: read-only, or (as root, where chmod does not stop
    writes) one whose parent is a regular file."""
    folder = tmp_path / "ro" / "systemd" / "user"
    folder.mkdir(parents=True)
    folder.chmod(0o500)
    probe = folder / ".probe"
    try:
        probe.write_text("")
    except PermissionError:
        return folder
    probe.unlink()
    folder.chmod(0o700)
    (tmp_path / "blocked").write_text("a file where the config folder should be\n")
    return tmp_path / "blocked" / "systemd" / "user"


def test_an_unwritable_unit_folder_is_a_clear_error_and_runs_nothing(fake: FakeSystemd, tmp_path: Path) -> None:
    folder = _unwritable_unit_dir(tmp_path)
    backend = SystemdBackend(unit_dir=folder, now=fixed_now)
    before = snapshot(folder)
    with pytest.raises(SchedulerError, match=rf"^cannot write {folder}/{TIMER}: .*writable$"):
        backend.apply(backend.plan_install(make_entry(tmp_path)))
    assert snapshot(folder) == before
    assert fake.calls() == []


@pytest.mark.parametrize("other", ["# hand-written\n[Timer]\nOnCalendar=daily\n", f"# {MARKER} task=other\n"])
def test_a_foreign_unit_with_the_same_name_is_never_touched(
    fake: FakeSystemd, backend: SystemdBackend, unit_dir: Path, tmp_path: Path, other: str
) -> None:
    unit_dir.mkdir(parents=True)
    (unit_dir / SERVICE).write_text(other)
    before = snapshot(unit_dir)
    attempts: list[Callable[[], object]] = [
        lambda: backend.plan_install(make_entry(tmp_path)),
        lambda: backend.plan_uninstall("nightly"),
    ]
    for attempt in attempts:
        with pytest.raises(SchedulerError, match=rf"^{unit_dir / SERVICE} exists and was not written by bassi"):
            attempt()
    assert snapshot(unit_dir) == before and fake.calls() == []


def test_a_foreign_unit_that_appears_after_planning_stops_apply(
    fake: FakeSystemd, backend: SystemdBackend, unit_dir: Path, tmp_path: Path
) -> None:
    plan = backend.plan_install(make_entry(tmp_path))
    unit_dir.mkdir(parents=True)
    (unit_dir / TIMER).symlink_to("/usr/lib/systemd/user/some.timer")  # `systemctl link` makes these
    with pytest.raises(SchedulerError, match="not written by bassi"):
        backend.apply(plan)
    assert os.readlink(unit_dir / TIMER) == "/usr/lib/systemd/user/some.timer"
    assert not (unit_dir / SERVICE).exists() and fake.calls() == []


@pytest.mark.parametrize(
    "task_id",
    ["../escape", "a b", "x\nExecStart=/bin/evil", "Upper", "a;b", "a%n", "-x", "x-", "", "a" * 64, "é"],
)
def test_hostile_ids_are_refused_before_anything_happens(
    fake: FakeSystemd, backend: SystemdBackend, tmp_path: Path, task_id: str
) -> None:
    entry = replace(make_entry(tmp_path), task_id=task_id)
    attempts: list[Callable[[], object]] = [
        lambda: backend.plan_install(entry),
        lambda: backend.plan_uninstall(task_id),
        lambda: backend.plan_enable(entry, False),
        lambda: backend.status(task_id),
    ]
    for attempt in attempts:
        with pytest.raises(SchedulerError, match="cannot name a systemd unit: use lower-case letters"):
            attempt()
    assert not (tmp_path / "config").exists() and fake.calls() == []


def test_status_explains_lingering(fake: FakeSystemd, backend: SystemdBackend, tmp_path: Path) -> None:
    user = os.environ.get("USER") or getpass.getuser()
    details = backend.status("nightly").details
    assert details["linger"] == "no"
    assert details["hint"].startswith(f"loginctl enable-linger {user}:")
    fake.set_linger("yes")
    assert "hint" not in backend.status("nightly").details


def test_status_of_a_task_that_is_not_installed(fake: FakeSystemd, backend: SystemdBackend) -> None:
    status = backend.status("nightly")
    assert (status.installed, status.enabled, status.os_next_runs, status.command) == (False, False, (), ())


def test_status_without_a_user_manager_says_it_cannot_tell(
    fake: FakeSystemd, backend: SystemdBackend, tmp_path: Path
) -> None:
    backend.apply(backend.plan_install(make_entry(tmp_path)))
    backend.systemctl = str(tmp_path / "gone")
    status = backend.status("nightly")
    assert status.installed is True and status.enabled is None
    assert status.details["systemctl"] == "systemctl did not answer"
