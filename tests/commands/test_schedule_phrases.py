"""Schedules as people write them, through the CLI: natural phrases are previewed, stored and
shown as their canonical form; refused ones and unknown zones name what to write instead.
Also the wording fixes of issue #8 that a user reads on the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.fakeapi import FakeMessagesAPI, text

NOW = "2027-03-10T08:00:00+00:00"
# The week of the spring-forward change in Europe/Berlin (Sunday 2027-03-28).
ACROSS_DST = "2027-03-20T00:00:00+01:00"


def run(*args: str) -> tuple[int, str, str]:
    return run_cli(*args, env={"BASSI_NOW": NOW})


def preview(when: str, *extra: str) -> tuple[int, str, str]:
    return run("schedule", "preview", when, "--tz", "Europe/Berlin", *extra)


@pytest.mark.parametrize(
    ("phrase", "canonical"),
    [
        ("every monday at 9", "monday 09:00"),
        ("every day at 09:00", "daily 09:00"),
        ("weekdays at 17:30", "weekdays 17:30"),
        ("every hour", "hourly"),
        ("every minute", "every 1m"),
        ("monday 9am", "monday 09:00"),
        ("daily 5:30pm", "daily 17:30"),
        ("every sunday at 2:30am", "sunday 02:30"),
    ],
)
def test_preview_of_a_phrase_is_the_preview_of_its_canonical_form(phrase: str, canonical: str) -> None:
    code, out, err = preview(phrase, "--after", ACROSS_DST, "--count", "3", "--json")
    assert code == 0, err
    assert json.loads(out) == json.loads(preview(canonical, "--after", ACROSS_DST, "--count", "3", "--json")[1])
    assert preview(phrase, "--after", ACROSS_DST)[1] == preview(canonical, "--after", ACROSS_DST)[1]


def test_preview_every_monday_at_9_as_the_issue_asks() -> None:
    code, out, err = run("schedule", "preview", "every monday at 9", "--tz", "Europe/Berlin", "--count", "3", "--json")
    assert code == 0, err
    assert json.loads(out) == ["2027-03-15T09:00:00+01:00", "2027-03-22T09:00:00+01:00", "2027-03-29T09:00:00+02:00"]


def test_add_stores_and_show_prints_the_canonical_form(isolated_home: Path) -> None:
    code, out, err = run(
        "schedule", "add", "Evening digest", "--when", "weekdays at 17:30", "--prompt", "x", "--tz", "Europe/Berlin"
    )
    assert code == 0, err
    assert (
        "Added task 'evening-digest': weekdays 17:30 — every weekday (Monday to Friday) at 17:30 (Europe/Berlin)" in out
    )
    assert "schedule: weekdays 17:30" in (isolated_home / "tasks" / "evening-digest.yaml").read_text()

    code, out, err = run("schedule", "show", "evening-digest")
    assert code == 0, err
    assert any(line.split() == ["schedule:", "weekdays", "17:30"] for line in out.splitlines()), out
    assert json.loads(run("schedule", "show", "evening-digest", "--json")[1])["schedule"] == "weekdays 17:30"

    code, out, err = run("schedule", "edit", "evening-digest", "--when", "Every Sunday at noon")
    assert code == 0, err
    assert out.startswith("Updated task 'evening-digest': sunday 12:00 — "), out
    assert json.loads(run("schedule", "show", "evening-digest", "--json")[1])["schedule"] == "sunday 12:00"


def test_add_resolves_a_relative_once_phrase(isolated_home: Path) -> None:
    # --no-install: cron (the suite's auto backend) cannot hold a `once` (test_schedule_install.py)
    when = ("--when", "once tomorrow at 9 pm")
    code, _, err = run("schedule", "add", "x", *when, "--prompt", "p", "--tz", "UTC", "--no-install")
    assert code == 0, err
    assert json.loads(run("schedule", "show", "x", "--json")[1])["schedule"] == "once 2027-03-11 21:00"


@pytest.mark.parametrize(
    ("when", "hint"),
    [
        ("weekly", "bassi: error: 'weekly' needs a day of the week; write e.g. monday 09:00"),
        ("every day", "bassi: error: 'every day' needs a time of day; write e.g. daily 09:00"),
        ("every 9", "write every 9m or every 9h, or daily 09:00 for 09:00 every day"),
        ("daily 13pm", "am/pm hours run from 1 to 12; write daily 13:00 (24-hour) or 1pm"),
        ("monday 9", "write monday 09:00 (or 'monday at 9')"),
    ],
)
def test_a_refused_phrase_names_the_closest_valid_form(when: str, hint: str, isolated_home: Path) -> None:
    code, out, err = preview(when)
    assert (code, out) == (2, "")
    assert hint in err and err.count("\n") == 1
    assert "did you mean 'weekday'" not in err and "write an interval" not in err
    code, _, err = run("schedule", "add", "x", "--when", when, "--prompt", "p", "--tz", "UTC")
    assert code == 2 and hint.removeprefix("bassi: error: ") in err
    assert not (isolated_home / "tasks" / "x.yaml").exists()


@pytest.mark.parametrize(
    ("zone", "hint"),
    [
        ("utc", "unknown time zone 'utc'; zone names are case-sensitive: use UTC"),
        ("berlin", "unknown time zone 'berlin'; use the full IANA name Europe/Berlin"),
        (
            "GMT+1",
            "unknown time zone 'GMT+1'; for a fixed offset of UTC+01:00 use Etc/GMT-1 (the Etc/GMT names count"
            " the other way round: Etc/GMT-1 is 1 hour ahead of UTC)",
        ),
    ],
)
def test_zone_hints_name_the_zone_to_write(zone: str, hint: str) -> None:
    code, _, err = run("schedule", "preview", "daily 09:00", "--tz", zone)
    assert code == 2 and hint in err
    code, _, err = run("schedule", "add", "x", "--when", "daily 09:00", "--prompt", "p", "--tz", zone)
    assert code == 2 and hint in err


def test_the_hinted_fixed_offset_zone_works() -> None:
    # NOW is 08:00 UTC, 09:00 at UTC+1: the next 09:00 there is tomorrow's.
    code, out, err = run("schedule", "preview", "daily 09:00", "--tz", "Etc/GMT-1", "--count", "1", "--json")
    assert code == 0, err
    assert json.loads(out) == ["2027-03-11T09:00:00+01:00"]


def test_a_run_of_one_turn_says_1_turn(
    fake_api: FakeMessagesAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fake_api.enqueue(text("Hello."))
    code, out, _ = run_cli("execute", "--prompt", "hi")
    assert code == 0
    assert "✓ success (exit 0) · 1 turn · " in out and "1 turns" not in out
