"""`bassi schedule …` as a user runs it: real store under a temporary BASSI_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli

AFTER = "2027-03-10T08:00:00+00:00"


def bassi(*args: str, now: str = AFTER) -> subprocess.CompletedProcess[str]:
    """Run the real command in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "bassi_ci", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "BASSI_NOW": now, "TZ": "UTC"},
        check=False,
    )


def run(*args: str) -> tuple[int, str, str]:
    return run_cli(*args, env={"BASSI_NOW": AFTER})


def test_add_list_show_json(isolated_home: Path) -> None:
    code, out, err = run(
        "schedule",
        "add",
        "Weekly Report",
        "--when",
        "Monday 9:00",
        "--prompt",
        "Summarise",
        "--tz",
        "Europe/Berlin",
        "--max-turns",
        "7",
    )
    assert code == 0, err
    assert "Added task 'weekly-report'" in out
    assert "Next run: 2027-03-15T09:00:00+01:00" in out
    assert "Updated the crontab" in out  # installed: the suite's stand-in crontab (tests/os_schedulers.py)
    assert (isolated_home / "tasks" / "weekly-report.yaml").exists()

    code, out, _ = run("schedule", "list", "--json")
    rows = json.loads(out)
    assert rows[0]["id"] == "weekly-report"
    assert rows[0]["schedule"] == "monday 09:00"
    assert rows[0]["timezone"] == "Europe/Berlin"
    assert rows[0]["next_run"] == "2027-03-15T09:00:00+01:00"
    assert rows[0]["runs"] == 0 and rows[0]["last_run"] is None

    code, out, _ = run("schedule", "show", "weekly-report", "--json", "--count", "3")
    shown = json.loads(out)
    assert shown["limits"]["max_turns"] == 7
    assert shown["next_runs"] == [
        "2027-03-15T09:00:00+01:00",
        "2027-03-22T09:00:00+01:00",
        "2027-03-29T09:00:00+02:00",
    ]


def test_table_list_shows_broken_file_and_other_tasks(isolated_home: Path) -> None:
    run("schedule", "add", "good", "--when", "daily 10:00", "--prompt", "p", "--tz", "UTC")
    (isolated_home / "tasks" / "bad.yaml").write_text("prompt: [\n", encoding="utf-8")
    code, out, _ = run("schedule", "list")
    assert code == 0
    assert "good" in out and "bad" in out and "error" in out


def test_pause_resume_edit_delete(isolated_home: Path) -> None:
    run("schedule", "add", "nightly", "--when", "daily 02:00", "--prompt", "p", "--tz", "UTC")
    assert run("schedule", "pause", "nightly")[0] == 0
    shown = json.loads(run("schedule", "show", "nightly", "--json")[1])
    assert shown["status"] == "paused" and shown["next_run"] is None
    assert run("schedule", "resume", "nightly")[0] == 0
    code, _, err = run("schedule", "edit", "nightly", "--when", "every 30m", "--var", "team=core")
    assert code == 0, err
    shown = json.loads(run("schedule", "show", "nightly", "--json")[1])
    assert shown["schedule"] == "every 30m" and shown["vars"] == {"team": "core"}
    assert shown["next_run"] == "2027-03-10T08:30:00+00:00"
    assert run("schedule", "delete", "nightly")[0] == 0
    assert json.loads(run("schedule", "list", "--json")[1]) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schedule", "add", "x", "--when", "monday 25:00", "--prompt", "p", "--tz", "UTC"], "25"),
        (["schedule", "add", "x", "--when", "every 0m", "--prompt", "p", "--tz", "UTC"], "every 0m"),
        (["schedule", "add", "x", "--when", "daily 09:00", "--prompt", "p", "--tz", "Mars/Base"], "Mars/Base"),
        (["schedule", "add", "!!!", "--when", "daily 09:00", "--prompt", "p"], "cannot make a task id"),
        (["schedule", "add", "x", "--when", "daily 09:00", "--prompt", "p", "--tools", "python"], "tools"),
        (["schedule", "add", "x", "--when", "daily 09:00", "--prompt", "p", "--var", "novalue"], "KEY=VALUE"),
        (["schedule", "add", "x", "--when", "daily 09:00", "--prompt", "p", "--timeout", "soon"], "timeout"),
        (["schedule", "show", "missing"], "no task named 'missing'"),
        (["schedule", "show", "../etc/passwd"], "task file ../etc/passwd does not exist"),
        (["schedule", "edit", "missing", "--prompt", "x"], "no task named 'missing'"),
        (["schedule", "preview", "someday"], "someday"),
        (["schedule", "preview", "daily 09:00", "--after", "yesterday"], "--after"),
        (["schedule", "add", "x", "--when", "daily 09:00"], "--prompt"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = bassi(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") <= 3  # click usage errors add a usage line


def test_duplicate_add_keeps_the_first(isolated_home: Path) -> None:
    run("schedule", "add", "dup", "--when", "daily 09:00", "--prompt", "first", "--tz", "UTC")
    code, _, err = run("schedule", "add", "dup", "--when", "daily 10:00", "--prompt", "second", "--tz", "UTC")
    assert code == 2 and "exists already" in err
    assert json.loads(run("schedule", "show", "dup", "--json")[1])["prompt"] == "first"


def test_preview_json_and_text() -> None:
    result = bassi(
        "schedule",
        "preview",
        "weekdays 09:00",
        "--tz",
        "America/New_York",
        "--after",
        "2027-03-12T00:00:00-05:00",
        "--count",
        "3",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "2027-03-12T09:00:00-05:00",
        "2027-03-15T09:00:00-04:00",
        "2027-03-16T09:00:00-04:00",
    ]
    text = bassi("schedule", "preview", "daily 14:30", "--tz", "UTC", "--count", "2")
    assert text.returncode == 0 and "2027-03-10 14:30" in text.stdout


def test_add_captures_the_machine_zone_when_none_given(isolated_home: Path) -> None:
    result = bassi("schedule", "add", "zoned", "--when", "daily 09:00", "--prompt", "p")
    assert result.returncode == 0, result.stderr
    shown = json.loads(bassi("schedule", "show", "zoned", "--json").stdout)
    assert shown["timezone"] == "UTC"


def test_version_and_help() -> None:
    assert bassi("--version").stdout.startswith("bassi, version ")
    help_text = bassi("--help").stdout
    assert "schedule" in help_text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schedule", "add", "日本語", "--when", "daily 09:00", "--prompt", "p", "--tz", "UTC"], "give one with --id"),
        (["schedule", "add", "x", "--when", "daily 09:00", "--prompt", "p", "--tz", ""], "--tz is empty"),
        (["schedule", "add", "x", "--when", "once 2020-01-01 10:00", "--prompt", "p", "--tz", "UTC"], "in the past"),
        (["schedule", "add", "x", "--when", "daily 09:00", "--prompt", "p", "--tz", "localtime"], "not an IANA zone"),
        (
            ["schedule", "add", "x", "--when", "daily 09:00", "--prompt", "p", "--tz", "UTC", "--max-budget", "nan"],
            "max_budget_usd",
        ),
        (
            ["schedule", "add", "x", "--when", "daily 09:00", "--prompt", "p", "--tz", "UTC", "--timeout", "169h"],
            "at most 7 days",
        ),
        (
            ["schedule", "add", "x", "--id", "Bad Id", "--when", "daily 09:00", "--prompt", "p", "--tz", "UTC"],
            "field 'id'",
        ),
    ],
)
def test_more_bad_input_is_refused_before_anything_is_stored(
    isolated_home: Path, args: list[str], message: str
) -> None:
    result = bassi(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not list((isolated_home / "tasks").glob("*.yaml")) if (isolated_home / "tasks").exists() else True


def test_non_latin_name_with_explicit_id(isolated_home: Path) -> None:
    code, _, err = run(
        "schedule",
        "add",
        "日本語レポート",
        "--id",
        "jp-report",
        "--when",
        "daily 09:00",
        "--prompt",
        "p",
        "--tz",
        "Asia/Tokyo",
    )
    assert code == 0, err
    shown = json.loads(run("schedule", "show", "jp-report", "--json")[1])
    assert shown["name"] == "日本語レポート" and shown["timezone"] == "Asia/Tokyo"


def test_edit_gives_an_on_demand_task_the_machine_zone(isolated_home: Path) -> None:
    tasks = isolated_home / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "od.yaml").write_text("id: od\nname: od\nprompt: p\n", encoding="utf-8")
    result = bassi("schedule", "edit", "od", "--when", "daily 09:00")
    assert result.returncode == 0, result.stderr
    shown = json.loads(bassi("schedule", "show", "od", "--json").stdout)
    assert shown["timezone"] == "UTC" and shown["schedule"] == "daily 09:00"


def test_store_problems_are_one_line_errors_not_crashes(isolated_home: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    add = [sys.executable, "-m", "bassi_ci", "schedule", "add", "x", "--when", "daily 09:00", "--prompt", "p"]
    env = {**os.environ, "BASSI_HOME": str(blocker)}
    result = subprocess.run([*add, "--no-install"], capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("bassi: error: cannot use the tasks folder") and "unexpected" not in result.stderr
    # Installing reads BASSI_HOME/scheduled.json before anything is stored: the same kind of error.
    result = subprocess.run(add, capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"bassi: error: cannot read {blocker}/scheduled.json: Not a directory")
    garbage = subprocess.run(
        [sys.executable, "-m", "bassi_ci", "schedule", "list"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "BASSI_NOW": "garbage"},
    )
    assert garbage.returncode == 2 and "BASSI_NOW" in garbage.stderr
