"""Missed runs: due times since the install with no run, with an injected "now".

The due times come from the real schedule engine; the expected ones are written out by hand
(and, in the property test, by a brute-force walk over the engine's times).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bassi_ci.runs.history import run_starts_since, start_run
from bassi_ci.schedules import next_runs, parse_schedule
from bassi_ci.scheduling.installed import missed_runs_of
from bassi_ci.scheduling.missed import CHECKED, GRACE, LOOKBACK, SHOWN, missed_runs
from bassi_ci.scheduling.registry import Installation, record_installation
from bassi_ci.tasks.lookup import history_key
from bassi_ci.tasks.model import Task

T = datetime(2027, 3, 1, 9, 0, 30, tzinfo=UTC)  # installed just after a 09:00 run was due


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def task(schedule: str = "daily 09:00", zone: str = "UTC", enabled: bool = True, task_id: str = "nightly") -> Task:
    return Task(id=task_id, name=task_id, prompt="p", schedule=schedule, timezone=zone, enabled=enabled)


def test_a_downtime_leaves_one_missed_run() -> None:
    # Due at T+1d and T+2d; the machine was off over the second one.
    ran = [at("2027-03-02 09:00:01")]
    missed = missed_runs(task(), T, ran, now=at("2027-03-03 12:00"))
    assert (missed.count, missed.latest, missed.checked) == (1, (at("2027-03-03 09:00"),), 2)
    assert missed.since == at("2027-03-02 09:00")


def test_a_late_run_covers_its_due_time_but_not_the_one_before() -> None:
    # Persistent=true catches up at boot, once: the run lands after the second due time.
    ran = [at("2027-03-03 11:15")]
    missed = missed_runs(task(), T, ran, now=at("2027-03-03 12:00"))
    assert missed.latest == (at("2027-03-02 09:00"),)


def test_a_run_exactly_at_the_due_time_counts_and_one_before_it_does_not() -> None:
    now = at("2027-03-03 12:00")
    assert missed_runs(task(), T, [at("2027-03-02 09:00"), at("2027-03-03 09:00")], now).count == 0
    assert missed_runs(task(), T, [at("2027-03-02 08:59:59"), at("2027-03-03 09:00")], now).count == 1


def test_only_due_times_after_the_install_count() -> None:
    assert missed_runs(task(), at("2027-03-02 09:00:01"), [], now=at("2027-03-03 12:00")).count == 1
    assert missed_runs(task(), at("2027-03-03 09:30"), [], now=at("2027-03-03 12:00")).count == 0


def test_a_task_that_is_not_installed_or_is_paused_misses_nothing() -> None:
    now = at("2027-03-10 12:00")
    assert missed_runs(task(), None, [], now).count == 0
    assert missed_runs(task(enabled=False), T, [], now).count == 0
    on_demand = Task(id="od", name="od", prompt="p")
    assert missed_runs(on_demand, T, [], now).count == 0


def test_a_run_starting_right_now_is_given_a_grace() -> None:
    installed = at("2027-03-01 08:00")
    just_due = at("2027-03-01 09:00")
    assert missed_runs(task(), installed, [], now=just_due + GRACE - timedelta(seconds=1)).count == 0
    assert missed_runs(task(), installed, [], now=just_due + GRACE).count == 1


def test_due_times_are_in_the_tasks_zone() -> None:
    berlin = task(zone="Europe/Berlin")  # 09:00 CET is 08:00 UTC
    missed = missed_runs(berlin, at("2027-03-01 07:00"), [], now=at("2027-03-01 08:30"))
    assert missed.latest == (at("2027-03-01 08:00"),)
    assert missed.latest[0].utcoffset() == timedelta(hours=1)


def test_the_count_looks_back_a_bounded_time_and_keeps_the_newest_few() -> None:
    now = at("2027-06-01 12:00")
    missed = missed_runs(task(), at("2026-01-01 00:00"), [], now)
    assert missed.count == LOOKBACK.days  # one a day over the lookback, not since 2026
    assert missed.latest[0] == at("2027-06-01 09:00") and len(missed.latest) == SHOWN
    assert list(missed.latest) == sorted(missed.latest, reverse=True)


def test_a_busy_task_checks_only_its_newest_due_times_and_stays_fast() -> None:
    now = at("2027-06-01 12:00:30")
    started = time.perf_counter()
    missed = missed_runs(task("every 1m"), now - timedelta(days=20), [], now)
    elapsed = time.perf_counter() - started
    assert missed.count == missed.checked == CHECKED
    assert missed.latest[0] == at("2027-06-01 11:55")  # the newest due time outside the grace
    assert elapsed < 0.5, elapsed


def test_a_schedule_that_is_busy_only_at_times_still_checks_its_newest_due_times() -> None:
    # Every minute of one hour on Mondays: the first two due times after the install say
    # "a minute apart", but the hours before now hold none.
    now = at("2027-06-02 12:00")  # a Wednesday
    missed = missed_runs(task("* 9 * * 1"), now - timedelta(days=20), [], now)
    assert missed.count == CHECKED
    assert missed.latest[0] == at("2027-05-31 09:59")


def test_a_once_that_ran_after_its_time_is_not_missed() -> None:
    once = task("once 2027-03-01 10:00")
    assert missed_runs(once, T, [at("2027-03-04 10:00")], now=at("2027-03-05 00:00")).count == 0
    assert missed_runs(once, T, [], now=at("2027-03-05 00:00")).latest == (at("2027-03-01 10:00"),)


SCHEDULES = ["every 30m", "daily 02:30", "weekdays 09:00", "0 */3 * * *", "every 90m"]


@settings(max_examples=30, deadline=None)
@given(
    schedule=st.sampled_from(SCHEDULES),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
    offsets=st.lists(st.integers(min_value=0, max_value=6 * 24 * 60), max_size=40),
)
def test_the_count_agrees_with_a_brute_force_walk(schedule: str, zone: str, offsets: list[int]) -> None:
    installed = at("2027-03-24 00:00")  # spans Europe's spring-forward night
    now = installed + timedelta(days=6)
    runs = [installed + timedelta(minutes=minutes) for minutes in offsets]
    due = [d for d in next_runs(parse_schedule(schedule), zone, installed, 300) if d <= now - GRACE][-CHECKED:]
    following = next_runs(parse_schedule(schedule), zone, due[-1], 1)
    closers = [*due[1:], *following]
    expected = [d for d, c in zip(due, closers, strict=True) if not any(d <= r < c for r in runs)]
    missed = missed_runs(task(schedule, zone), installed, runs, now)
    assert missed.count == len(expected)
    assert list(missed.latest) == expected[::-1][:SHOWN]


# --------------------------------------------------------------------------- from the real history


def _run(db: Path, run_id: str, task_id: str, started: str, key: str | None) -> None:
    start_run(db, run_id=run_id, task_id=task_id, started_at=started, model="m", log_path=None, task_key=key)


def test_run_starts_since_reads_each_task_file_in_one_query(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _run(db, "old", "a", "2027-02-01T09:00:00.000+00:00", "/t/a.yaml")
    _run(db, "r1", "a", "2027-03-02T09:00:01.000+00:00", "/t/a.yaml")
    _run(db, "r2", "a", "2027-03-02T08:30:00.000-01:00", None)  # 09:30 UTC, written with another offset
    _run(db, "r3", "b", "2027-03-02T09:00:00.000+00:00", "/t/b.yaml")
    _run(db, "r4", "c", "2027-03-02T09:00:00.000+00:00", "/t/c.yaml")
    starts = run_starts_since(db, ["a", "b"], at("2027-03-01 00:00"))
    assert starts == {
        ("a", "/t/a.yaml"): [at("2027-03-02 09:00:01")],
        ("a", ""): [at("2027-03-02 09:30")],
        ("b", "/t/b.yaml"): [at("2027-03-02 09:00")],
    }
    assert run_starts_since(tmp_path / "none.db", ["a"], T) == {}


def test_missed_runs_of_installed_task_files_only(isolated_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "tasks"
    folder.mkdir()
    tasks = []
    for task_id in ("installed", "elsewhere", "stored-only"):
        (folder / f"{task_id}.yaml").touch()
        tasks.append(Task(**{**vars(task(task_id=task_id)), "source": folder / f"{task_id}.yaml"}))
    installed = tasks[0]
    record_installation(Installation("installed", str(history_key(installed)), "cron", T.isoformat()))
    record_installation(Installation("elsewhere", "/another/folder/elsewhere.yaml", "cron", T.isoformat()))
    _run(isolated_home / "state.db", "r1", "installed", "2027-03-02T09:00:01.000+00:00", history_key(installed))
    _run(isolated_home / "state.db", "r2", "installed", "2027-03-03T09:00:01.000+00:00", "/other/file.yaml")
    found = missed_runs_of(tasks, now=at("2027-03-03 12:00"))
    assert list(found) == ["installed"]  # `elsewhere` was installed from another task file
    assert found["installed"].latest == (at("2027-03-03 09:00"),)  # r2 is another file's run
