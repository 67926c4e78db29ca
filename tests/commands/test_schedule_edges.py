"""The everyday edges of `bassi schedule` (issue #8, section 4): what `add` and `edit` say,
pausing twice, `--no-install`, and times in `schedule list` and `show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import check_result, run_cli
from tests.fakeapi import FakeMessagesAPI, text

NOW = "2027-03-10T08:00:00+00:00"  # a Wednesday; 09:00 in Berlin


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    return run_cli(*args, env={"BASSI_NOW": NOW, "TZ": "UTC", **(env or {})})


def add(name: str, when: str, *extra: str) -> tuple[int, str, str]:
    return run("schedule", "add", name, "--when", when, "--prompt", "p", "--tz", "Europe/Berlin", *extra)


def test_add_prints_the_canonical_schedule_its_meaning_and_the_next_run() -> None:
    code, out, err = add("Evening", "weekdays at 17:30")
    assert code == 0, err
    lines = out.splitlines()
    assert (
        lines[0] == "Added task 'evening': weekdays 17:30 — every weekday (Monday to Friday) at 17:30 (Europe/Berlin)"
    )
    assert lines[1] == "Next run: 2027-03-10T17:30:00+01:00"
    assert "Updated the crontab" in out  # installed (into the suite's stand-in crontab)


def test_no_install_says_nothing_about_installing() -> None:
    code, out, err = add("Quiet", "daily 09:00", "--no-install")
    assert (code, err) == (0, "")
    assert out.startswith("Added task 'quiet': daily 09:00 — ")
    assert "install" not in out.lower() and "crontab" not in out


def test_edit_prints_the_new_schedule_and_next_run() -> None:
    add("Digest", "daily 09:00", "--no-install")
    code, out, err = run("schedule", "edit", "digest", "--when", "every monday at 9")
    assert code == 0, err
    assert out.splitlines() == [
        "Updated task 'digest': monday 09:00 — every Monday at 09:00 (Europe/Berlin)",
        "Next run: 2027-03-15T09:00:00+01:00",
    ]
    code, out, err = run("schedule", "edit", "digest", "--tz", "America/New_York")
    assert code == 0, err
    assert out.splitlines()[1] == "Next run: 2027-03-15T09:00:00-04:00"


def test_edit_of_a_paused_task_says_it_will_not_run() -> None:
    add("Digest", "daily 09:00", "--no-install")
    run("schedule", "pause", "digest")
    code, out, _ = run("schedule", "edit", "digest", "--when", "daily 10:00")
    assert code == 0
    assert out.splitlines()[1] == "Next run: none while paused (resume with 'bassi schedule resume digest')"


def test_edit_of_an_on_demand_task_says_so(isolated_home: Path) -> None:
    (isolated_home / "tasks").mkdir(parents=True)
    (isolated_home / "tasks" / "od.yaml").write_text("id: od\nname: od\nprompt: p\n", encoding="utf-8")
    code, out, _ = run("schedule", "edit", "od", "--prompt", "q")
    assert (code, out) == (0, "Updated task 'od': on demand (no schedule; run it with 'bassi execute od')\n")


def test_pausing_a_paused_task_and_resuming_an_enabled_one_say_so(isolated_home: Path) -> None:
    add("Nightly", "daily 02:00", "--no-install")
    task_file = isolated_home / "tasks" / "nightly.yaml"
    assert run("schedule", "pause", "nightly") == (0, "Paused task 'nightly'.\n", "")
    written = task_file.stat().st_mtime_ns
    assert run("schedule", "pause", "nightly") == (0, "Task 'nightly' is already paused.\n", "")
    assert task_file.stat().st_mtime_ns == written  # nothing to change, nothing written
    assert run("schedule", "resume", "nightly") == (
        0,
        "Resumed task 'nightly'. Next run: 2027-03-11T02:00:00+01:00\n",
        "",
    )
    assert run("schedule", "resume", "nightly") == (
        0,
        "Task 'nightly' is already enabled. Next run: 2027-03-11T02:00:00+01:00\n",
        "",
    )
    assert json.loads(run("schedule", "show", "nightly", "--json")[1])["status"] == "enabled"


def test_pause_of_an_unknown_task_is_still_an_error() -> None:
    code, _, err = run("schedule", "pause", "nosuch")
    assert code == 2 and "no task named 'nosuch'" in err


def test_list_shows_next_and_last_run_in_the_zone_of_their_row(
    fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    add("Weekly", "monday 09:00", "--no-install")
    (isolated_home / "tasks" / "od.yaml").write_text("id: od\nname: od\nprompt: p\n", encoding="utf-8")
    fake_api.enqueue(text("done"), text("done"))
    for task in ("weekly", "od"):
        code, out, err = run("execute", task, "--ci")
        assert code == 0 and check_result(out)["started_at"].startswith("2027-03-10T08:00:00"), err

    code, out, err = run("schedule", "list", env={"TZ": "Asia/Tokyo"})
    assert code == 0, err
    header, *rows = [line.split("  ") for line in out.splitlines()]
    cells = [[cell.strip() for cell in row if cell.strip()] for row in [header, *rows]]
    assert cells[0] == ["NAME", "SCHEDULE", "ZONE", "NEXT RUN", "LAST RUN", "RUNS", "STATUS"]
    assert cells[1] == ["od", "on demand", "Asia/Tokyo", "-", "2027-03-10 17:00 success", "1", "enabled"]
    assert cells[2] == [
        "weekly",
        "every Monday at 09:00",
        "Europe/Berlin",
        "2027-03-15 09:00",
        "2027-03-10 09:00 success",
        "1",
        "enabled",
    ]

    code, out, _ = run("schedule", "show", "weekly")
    fields = dict(line.split(":", 1) for line in out.splitlines() if not line.startswith(" "))
    assert fields["next_run"].strip() == "2027-03-15T09:00:00+01:00"
    assert fields["last_run"].strip() == "2027-03-10T09:00:00+01:00"
    # Scripts keep the exact UTC time of the history.
    shown = json.loads(run("schedule", "show", "weekly", "--json")[1])
    assert shown["last_run"] == "2027-03-10T08:00:00.000+00:00"
