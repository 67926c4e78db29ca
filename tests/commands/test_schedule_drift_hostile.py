"""Hostile probes of drift detection and `schedule install --all` (see test_schedule_drift.py for
the story): task files broken or swapped after install, a hand-edited or corrupted
BASSI_HOME/scheduled.json, and two `install --all` at once. Every probe is a real CLI run;
the OS schedulers are the suite's recording stand-ins (never the machine's crontab).
"""

# ruff: noqa: F811  # the fixtures `repo` and `cron` are imported from test_schedule_drift

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.scheduling import registry
from tests.cli import run_cli
from tests.commands.test_schedule_drift import add, cron, cron_lines, edit_by_hand, repo, task_file  # noqa: F401
from tests.scheduling.standin import StandInCrontab
from tests.scheduling.test_launchd import StandIn, launchctl  # noqa: F401  # the launchctl stand-in fixture


def add_two(repo: Path) -> None:
    add("cron", tz="UTC")
    code, _, err = run_cli(
        "schedule", "add", "Other", "--repo", "--when", "daily 07:00", "--tz", "UTC", "--prompt", "p",
        "--backend", "cron",
    )  # fmt: skip
    assert code == 0, err


def clean(code: int, err: str) -> None:
    """No traceback and no crash report: at most one line, with a documented exit code."""
    assert "Traceback" not in err and "unexpected error" not in err and code in (0, 1, 2), (code, err)
    assert err.count("\n") <= 1, err


# --------------------------------------------------------------------------- broken task files


def _swap(path: Path, make: Callable[[], None]) -> None:
    path.unlink()
    make()


BREAKS: dict[str, Callable[[Path], Any]] = {
    "invalid yaml": lambda path: path.write_text("id: [nightly\n"),
    "schema": lambda path: path.write_text("id: nightly\nprompt: 5\nschedule: 7\nbogus: 1\n"),
    "deleted": lambda path: path.unlink(),
    "dev zero": lambda path: _swap(path, lambda: path.symlink_to("/dev/zero")),
    "fifo": lambda path: _swap(path, lambda: os.mkfifo(path)),
    "bad zone": lambda path: path.write_text(path.read_text().replace("timezone: UTC", "timezone: Mars/Olympus")),
    "bad schedule": lambda path: path.write_text(
        path.read_text().replace("schedule: monday 09:00", "schedule: every 7 minutes")
    ),
    "odd name": lambda path: path.write_text(
        path.read_text().replace("id: nightly", "id: nightly\nname: " + "\u202e\u0000x" * 2000)
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", sorted(BREAKS))
def test_a_task_file_broken_after_install_leaves_the_others_listed(
    repo: Path,
    cron: StandInCrontab,
    kind: str,
) -> None:
    add_two(repo)
    BREAKS[kind](task_file(repo))
    code, out, err = run_cli("schedule", "list", "--repo")
    clean(code, err)
    assert code == 0 and "other" in out, (out, err)
    code, out, err = run_cli("schedule", "list", "--repo", "--json")
    clean(code, err)
    assert code == 0 and "other" in [task["id"] for task in json.loads(out)], (out, err)
    code, out, err = run_cli("schedule", "debug", "nightly", "--repo")
    clean(code, err)
    before = cron.content()
    code, out, err = run_cli("schedule", "install", "--all", "--repo", "--dry-run")
    clean(code, err)
    assert cron.content() == before
    code, out, err = run_cli("schedule", "install", "--all", "--repo")
    clean(code, err)
    print(kind, code, out, err)


# --------------------------------------------------------------------------- a damaged registry


def damage(change: Any) -> None:
    path = registry.registry_path()
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)


DAMAGES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "entry is a string": lambda d: d["installations"][0].update(entry="oops"),
    "entry is a list": lambda d: d["installations"][0].update(entry=[1, 2]),
    "installed_at is a number": lambda d: d["installations"][0].update(installed_at=5),
    "task_file is null": lambda d: d["installations"][0].update(task_file=None),
    "backend unknown": lambda d: d["installations"][0].update(backend="at"),
    "task_id missing": lambda d: d["installations"][0].pop("task_id"),
    "installations is a dict": lambda d: d.update(installations={"a": 1}),
    "record is a string": lambda d: d["installations"].append("x"),
    "installations missing": lambda d: d.pop("installations"),
    "entry schedule is a number": lambda d: d["installations"][0]["entry"].update(schedule=5, enabled="no"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", sorted(DAMAGES))
def test_a_hand_edited_registry_gives_one_line_and_no_traceback(
    repo: Path,
    cron: StandInCrontab,
    kind: str,
) -> None:
    add_two(repo)
    damage(DAMAGES[kind])
    for args in (("list",), ("list", "--json"), ("debug", "nightly"), ("install", "--all", "--dry-run"),
                 ("install", "--all"), ("install", "nightly"), ("uninstall", "other")):  # fmt: skip
        code, _, err = run_cli("schedule", *args, "--repo")
        clean(code, err)
        if code != 0:  # the damage is named: the file, and how to fix it
            assert code == 1 and "scheduled.json" in err and "fix or remove it" in err, (args, err)


# --------------------------------------------------------------------------- install --all stopping


def test_install_all_names_the_task_it_cannot_update_and_changes_nothing(repo: Path, cron: StandInCrontab) -> None:
    add_two(repo)
    edit_by_hand(repo, "schedule: monday 09:00", "schedule: daily 10:15")
    other = repo / ".bassi" / "tasks" / "other.yaml"
    other.write_text(other.read_text().replace("schedule: daily 07:00", "schedule: every 7 minutes"))
    before = cron.content()
    code, out, err = run_cli("schedule", "install", "--all", "--repo")
    clean(code, err)
    assert code == 2 and "task 'other'" in err and "nothing was changed" in err, err
    assert cron.content() == before and out == ""


def test_install_all_failing_half_way_says_which_task_failed_and_what_was_updated(
    repo: Path, cron: StandInCrontab, launchctl: StandIn
) -> None:
    """Documented to stop at the first failure: the tasks before it are updated (and said so),
    the error names the task that failed."""
    add("launchd", tz="UTC")
    code, _, err = run_cli(
        "schedule", "add", "Other", "--repo", "--when", "daily 07:00", "--tz", "UTC", "--prompt", "p",
        "--backend", "cron",
    )  # fmt: skip
    assert code == 0, err
    edit_by_hand(repo, "schedule: monday 09:00", "schedule: daily 10:15")
    other = repo / ".bassi" / "tasks" / "other.yaml"
    other.write_text(other.read_text().replace("schedule: daily 07:00", "schedule: daily 07:30"))
    cron.refuse_writes()
    code, out, err = run_cli("schedule", "install", "--all", "--repo")
    clean(code, err)
    assert "Updated task 'nightly' with launchd." in out, out
    assert code != 0 and "updating task 'other' failed (the tasks above were updated" in err, err
    assert registry.installation_of("other") is not None  # still installed, the old entry


@pytest.mark.parametrize("kind", ["invalid yaml", "deleted", "dev zero"])
def test_install_all_does_not_call_an_installed_task_with_a_broken_file_up_to_date(
    repo: Path, cron: StandInCrontab, kind: str
) -> None:
    """Its OS entry still fires: `install --all` must say it could not check it, and how to fix."""
    add_two(repo)
    BREAKS[kind](task_file(repo))
    for dry_run in (("--dry-run",), ()):
        code, out, err = run_cli("schedule", "install", "--all", "--repo", *dry_run)
        clean(code, err)
        assert code == 0 and "Every installed task is up to date" not in out, out
        assert "task 'nightly' is installed but its file" in err and "bassi schedule uninstall nightly --repo" in err, (
            err
        )
    code, _, err = run_cli("schedule", "uninstall", "nightly", "--repo")  # the way out named works
    assert code == 0, err
    assert registry.installation_of("nightly") is None
    assert all("nightly" not in line for line in cron_lines(cron)), cron_lines(cron)


# --------------------------------------------------------------------------- two at once


@pytest.mark.slow
def test_two_install_all_at_once_lose_and_duplicate_nothing(repo: Path, cron: StandInCrontab) -> None:
    names = ["a", "b", "c", "d"]
    for name in names:
        code, _, err = run_cli(
            "schedule", "add", name, "--repo", "--when", "daily 07:00", "--tz", "UTC", "--prompt", "p",
            "--backend", "cron",
        )  # fmt: skip
        assert code == 0, err
    for name in names:
        path = repo / ".bassi" / "tasks" / f"{name}.yaml"
        path.write_text(path.read_text().replace("daily 07:00", "daily 08:45"))
    command = [sys.executable, "-m", "bassi_ci", "schedule", "install", "--all", "--repo"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    both = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for process in both:
        _, errors = process.communicate(timeout=120)
        assert process.returncode == 0 and b"Traceback" not in errors, errors
    lines = [line for line in cron_lines(cron) if not line.startswith("# bassi-ci:")]  # one marker per entry
    assert sorted(cron_lines(cron)[::2]) == [f"# bassi-ci:{name}" for name in names], cron_lines(cron)
    assert len(lines) == len(names) and all(line.startswith("45 8 * * * ") for line in lines), lines
    assert sorted(registry.read_installations()) == names
    code, out, _ = run_cli("schedule", "list", "--repo", "--json")
    assert code == 0 and [task["entry_out_of_date"] for task in json.loads(out)] == [False] * len(names)
