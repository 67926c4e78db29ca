"""The foreground scheduler (`bassi scheduler run`): its decisions with a fake clock and fake
processes, then the real command with real `bassi execute` children against the fake API."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bassi_ci.errors import StoreError, TaskFileError, UsageError
from bassi_ci.scheduling import foreground
from bassi_ci.scheduling.foreground import (
    SLEEP_CAP_S,
    TERM_WAIT_S,
    ForegroundScheduler,
    Hooks,
    Started,
    exit_words,
    latest_fire_time,
    run_loop,
    run_once,
    signal_waker,
)
from bassi_ci.tasks.loader import load_task_file
from bassi_ci.tasks.manage import next_fire_times
from bassi_ci.tasks.model import Task, task_from_dict
from bassi_ci.tasks.store import StoredTask
from tests.cli import ROOT, bassi_process, run_cli
from tests.fakeapi import FakeMessagesAPI, text, tool_use
from tests.oracles import requires

T0 = datetime(2027, 3, 22, 9, 0, tzinfo=UTC)  # a Monday


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2027-03-22T{text}+00:00")


def task(task_id: str, schedule: str = "daily 09:00", **fields: object) -> Task:
    return task_from_dict({"id": task_id, "prompt": "p", "schedule": schedule, "timezone": "UTC", **fields})


# --------------------------------------------------------------------------- fakes


@dataclass
class FakeTime:
    now: datetime

    def monotonic(self) -> float:
        return (self.now - T0).total_seconds()


@dataclass
class FakeProcess:
    """A run that ends `runs_for` seconds after it started; None: only a signal ends it."""

    time: FakeTime
    pid: int
    runs_for: float | None
    ends_on_term: bool = True
    code: int = 0
    signals: list[str] = field(default_factory=list)
    ends_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.runs_for is not None:
            self.ends_at = self.time.now + timedelta(seconds=self.runs_for)

    def poll(self) -> int | None:
        return self.code if self.ends_at is not None and self.time.now >= self.ends_at else None

    def terminate(self) -> None:
        self.signals.append("TERM")
        if self.ends_on_term:
            self.ends_at, self.code = self.time.now + timedelta(seconds=2), 130

    def kill(self) -> None:
        self.signals.append("KILL")
        self.ends_at, self.code = self.time.now, -signal.SIGKILL


@dataclass
class FakeWaker:
    """Sleeping moves the fake clock; stop requests arrive at the given times, and the end of a
    process wakes the sleep (as SIGCHLD does)."""

    time: FakeTime
    stop_at: list[datetime] = field(default_factory=list)
    processes: list[FakeProcess] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    @property
    def stops(self) -> int:
        return sum(1 for moment in self.stop_at if moment <= self.time.now)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        wake = self.time.now + timedelta(seconds=seconds)
        ends = [process.ends_at for process in self.processes if process.ends_at is not None]
        pending = [moment for moment in [*self.stop_at, *ends] if self.time.now < moment <= wake]
        self.time.now = min([wake, *pending])


@dataclass
class World:
    """The scheduler's surroundings: task files, history, started processes, the log."""

    time: FakeTime = field(default_factory=lambda: FakeTime(T0))
    entries: list[StoredTask] = field(default_factory=list)
    history: dict[str, datetime] = field(default_factory=dict)
    runs_for: dict[str, float | None] = field(default_factory=dict)  # task id -> seconds (default 10)
    exit_codes: dict[str, int] = field(default_factory=dict)
    started: list[tuple[str, datetime]] = field(default_factory=list)
    processes: list[FakeProcess] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    start_error: Exception | None = None

    def tasks(self, *tasks: Task) -> None:
        self.entries = [StoredTask(Path(f"/tasks/{t.id}.yaml"), t, None) for t in tasks]

    def start(self, task: Task) -> Started:
        if self.start_error is not None:
            raise self.start_error
        process = FakeProcess(
            self.time, 100 + len(self.processes), self.runs_for.get(task.id, 10), code=self.exit_codes.get(task.id, 0)
        )
        self.processes.append(process)
        self.started.append((task.id, self.time.now))
        return Started(process, Path(f"/logs/{task.id}/scheduler.log"))

    def read(self) -> list[StoredTask]:
        return list(self.entries)

    def scheduler(self) -> ForegroundScheduler:
        return ForegroundScheduler(
            Hooks(
                read_tasks=self.read,
                last_starts=lambda: dict(self.history),
                start=self.start,
                log=self.log.append,
                now=lambda: self.time.now,
                monotonic=self.time.monotonic,
            )
        )

    def lines(self, subject: str) -> list[str]:
        return [line for line in self.log if f" {subject}: " in line]


def ticks(world: World, scheduler: ForegroundScheduler, *times: str) -> None:
    for moment in times:
        world.time.now = at(moment)
        scheduler.tick()


# --------------------------------------------------------------------------- firing


def test_a_task_due_now_is_started_once_with_one_log_line() -> None:
    world = World()
    world.tasks(task("weekly-report"), task("later", "daily 10:00"))
    scheduler = world.scheduler()
    ticks(world, scheduler, "09:00:00", "09:00:05")
    assert world.started == [("weekly-report", at("09:00:00"))]
    assert world.log == ["2027-03-22T09:00:00Z weekly-report: due 2027-03-22T09:00:00Z, started pid 100"]


def test_a_finished_run_is_logged_with_its_exit_and_duration() -> None:
    world = World(exit_codes={"a": 1, "b": 0}, runs_for={"a": 12.34, "b": 3})
    world.tasks(task("a"), task("b"))
    scheduler = world.scheduler()
    ticks(world, scheduler, "09:00:00", "09:00:20")
    assert world.lines("a")[-1] == (
        "2027-03-22T09:00:20Z a: finished exit 1 (failed) in 20.0s; output in /logs/a/scheduler.log"
    )
    assert world.lines("b")[-1] == "2027-03-22T09:00:20Z b: finished exit 0 (success) in 20.0s"
    assert scheduler.failures == 1


def test_a_fire_time_shortly_before_the_start_still_runs_but_not_a_stale_one() -> None:
    world = World(time=FakeTime(at("09:01:29")))
    world.tasks(task("just-late"), task("stale", "daily 08:58"))
    world.scheduler().tick()
    assert [name for name, _ in world.started] == ["just-late"]


def test_never_two_runs_of_one_task_at_once_and_the_skip_is_logged_once() -> None:
    world = World(runs_for={"every-minute": 150})
    world.tasks(task("every-minute", "every 1m"))
    scheduler = world.scheduler()
    ticks(world, scheduler, "09:00:00", "09:01:00", "09:02:00", "09:02:30", "09:03:00")
    assert world.started == [("every-minute", at("09:00:00")), ("every-minute", at("09:03:00"))]
    assert world.lines("every-minute") == [
        "2027-03-22T09:00:00Z every-minute: due 2027-03-22T09:00:00Z, started pid 100",
        "2027-03-22T09:01:00Z every-minute: due 2027-03-22T09:01:00Z, skipped: still running (pid 100)",
        "2027-03-22T09:02:30Z every-minute: finished exit 0 (success) in 150.0s; 2 due time(s) skipped while it ran",
        "2027-03-22T09:03:00Z every-minute: due 2027-03-22T09:03:00Z, started pid 101",
    ]


def test_fire_times_that_passed_during_one_long_tick_run_once() -> None:
    world = World(runs_for={"every-minute": 1}, history={"every-minute": at("08:59:00")})
    world.tasks(task("every-minute", "every 1m"))
    scheduler = world.scheduler()
    ticks(world, scheduler, "08:59:59", "09:07:30")  # e.g. the machine was suspended
    assert world.started == [("every-minute", at("09:07:30"))]
    assert "due 2027-03-22T09:07:00Z" in world.log[-1]


def test_paused_tasks_do_not_run_and_resuming_does_not_run_what_passed() -> None:
    world = World()
    world.tasks(task("report", enabled=False))
    scheduler = world.scheduler()
    ticks(world, scheduler, "09:00:00", "09:30:00")
    world.tasks(task("report", "daily 10:00"))  # resumed (and edited) while the scheduler runs
    ticks(world, scheduler, "09:45:00", "10:00:00")
    assert world.started == [("report", at("10:00:00"))]


def test_a_task_added_while_running_fires_at_its_next_time_only() -> None:
    world = World()
    scheduler = world.scheduler()
    ticks(world, scheduler, "08:57:30")
    world.tasks(task("due-after-the-last-tick", "daily 08:58"), task("due-before-it", "daily 08:57"))
    ticks(world, scheduler, "08:58:10", "08:59:10")
    assert world.started == [("due-after-the-last-tick", at("08:58:10"))]


def test_a_broken_task_file_is_logged_once_and_the_others_still_run() -> None:
    world = World()
    broken = StoredTask(Path("/tasks/bad.yaml"), None, "/tasks/bad.yaml: field 'schedule': expected a string")
    world.entries = [broken, StoredTask(Path("/tasks/ok.yaml"), task("ok"), None)]
    scheduler = world.scheduler()
    ticks(world, scheduler, "08:59:00", "09:00:00", "09:01:00")
    assert world.lines("bad") == [
        "2027-03-22T08:59:00Z bad: task file broken: /tasks/bad.yaml: field 'schedule': expected a string"
    ]
    assert world.started == [("ok", at("09:00:00"))]
    world.entries = world.entries[1:]  # fixed (here: removed), then broken again: said again
    ticks(world, scheduler, "09:02:00")
    world.entries = [broken, *world.entries]
    ticks(world, scheduler, "09:03:00")
    assert len(world.lines("bad")) == 2


@pytest.mark.parametrize("mark", ["\n", "\r", "\u2028", "\x85"])
def test_a_file_name_with_a_line_break_cannot_forge_log_lines(mark: str) -> None:
    # A hostile tasks folder names a broken file so that its error reads as another decision.
    forged = f"x.yaml{mark}2027-03-22T09:00:00Z ok: due 2027-03-22T09:00:00Z, started pid 1"
    world = World()
    world.entries = [StoredTask(Path(forged), None, f"{forged}: cannot read the task file")]
    ticks(world, world.scheduler(), "09:00:00")
    assert len(world.log) == 1
    assert world.log[0].splitlines() == [world.log[0]]
    assert world.log[0].startswith("2027-03-22T09:00:00Z x: task file broken: x.yaml\\")


def test_an_unreadable_store_is_logged_once_and_the_loop_goes_on() -> None:
    world = World()
    scheduler = world.scheduler()

    def unreadable() -> list[StoredTask]:
        raise StoreError("cannot read the task store /tasks: Permission denied")

    scheduler.hooks = Hooks(**{**scheduler.hooks.__dict__, "read_tasks": unreadable})
    ticks(world, scheduler, "09:00:00", "09:01:00")
    assert world.log == [
        "2027-03-22T09:00:00Z scheduler: cannot read the tasks: cannot read the task store /tasks: Permission denied"
    ]


@pytest.mark.parametrize(
    "problem",
    [UsageError("the workspace /gone does not exist or is not a folder"), FileNotFoundError(2, "No such file", "/py")],
)
def test_a_run_that_cannot_start_is_logged_and_counted_and_the_next_due_time_tries_again(problem: Exception) -> None:
    world = World(start_error=problem)
    world.tasks(task("hourly", "hourly"))
    scheduler = world.scheduler()
    ticks(world, scheduler, "09:00:00", "09:30:00")
    assert len(world.log) == 1 and "hourly: due 2027-03-22T09:00:00Z, not started: " in world.log[0]
    assert ("/gone" in world.log[0]) or ("No such file: /py" in world.log[0])
    world.start_error = None
    ticks(world, scheduler, "10:00:00")
    assert world.started == [("hourly", at("10:00:00"))] and scheduler.failures == 1


# --------------------------------------------------------------------------- history and catch-up


def test_a_run_in_the_history_at_or_after_the_due_time_counts_as_done() -> None:
    world = World(time=FakeTime(at("09:00:30")))
    world.history = {"done": at("09:00:00"), "not-done": at("08:59:59")}
    world.tasks(task("done"), task("not-done"))
    world.scheduler().tick()
    assert [name for name, _ in world.started] == ["not-done"]


def test_a_missed_run_is_caught_up_once_at_start_when_the_task_asks() -> None:
    world = World(time=FakeTime(at("12:00:00")))
    world.history = {"catcher": at("09:00:00") - timedelta(days=2), "plain": at("09:00:00") - timedelta(days=2)}
    world.tasks(task("catcher", catch_up=True), task("plain"))
    scheduler = world.scheduler()
    ticks(world, scheduler, "12:00:00", "12:01:00", "13:00:00")
    assert world.started == [("catcher", at("12:00:00"))]
    assert world.lines("catcher")[0] == (
        "2027-03-22T12:00:00Z catcher: missed run due 2027-03-22T09:00:00Z, catching up, started pid 100"
    )


@pytest.mark.parametrize(
    ("last_run", "caught_up"),
    [
        (None, False),  # no history: nothing was missed, the window starts with the scheduler
        ("2027-03-22T09:00:00+00:00", False),  # the 09:00 run happened
        ("2027-03-22T08:59:59+00:00", True),  # the latest run was before 09:00
        ("2027-03-22T11:00:00+00:00", False),  # run by hand after 09:00 also counts
    ],
)
def test_what_counts_as_missed(last_run: str | None, caught_up: bool) -> None:
    world = World(time=FakeTime(at("12:00:00")))
    world.history = {} if last_run is None else {"catcher": datetime.fromisoformat(last_run)}
    world.tasks(task("catcher", catch_up=True))
    world.scheduler().tick()
    assert bool(world.started) is caught_up


def test_catch_up_happens_only_at_start_not_for_a_task_first_seen_later() -> None:
    world = World(time=FakeTime(at("12:00:00")))
    world.history = {"catcher": at("09:00:00") - timedelta(days=1)}
    scheduler = world.scheduler()
    ticks(world, scheduler, "12:00:00")
    world.tasks(task("catcher", catch_up=True))
    ticks(world, scheduler, "12:01:00")
    assert world.started == []


def test_a_tick_computes_only_the_few_fire_times_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    # Thousands of tasks are read at every tick; each one must cost a handful of fire times,
    # not a hundred (a hundred days of a daily task), or a tick outlasts the minute it covers.
    computed: list[int] = []

    def counting(task: Task, after: datetime, count: int) -> list[datetime]:
        found = next_fire_times(task, after, count)
        computed.append(len(found))
        return found

    monkeypatch.setattr(foreground, "next_fire_times", counting)
    world = World()
    world.tasks(*(task(f"t{number}", "every 1m" if number % 2 else "daily 09:00") for number in range(200)))
    scheduler = world.scheduler()
    ticks(world, scheduler, "08:59:00")
    computed.clear()
    ticks(world, scheduler, "09:00:00")
    assert len([moment for _, moment in world.started if moment == at("09:00:00")]) == 200
    assert sum(computed) <= 5 * 200


def test_latest_fire_time_after_a_year_of_minutes_is_quick() -> None:
    every_minute = task("m", "every 1m")
    began = time.monotonic()
    latest = latest_fire_time(every_minute, T0 - timedelta(days=365), at("09:30:30"))
    assert latest == at("09:30:00") and time.monotonic() - began < 1.0
    assert latest_fire_time(every_minute, at("09:30:00"), at("09:30:59")) is None
    assert latest_fire_time(task("d"), T0 - timedelta(days=400), at("08:00:00")) == T0 - timedelta(days=1)
    once = task("o", "once 2027-03-01 10:00")
    assert latest_fire_time(once, T0 - timedelta(days=30), T0) == datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    assert latest_fire_time(once, datetime(2027, 3, 1, 10, 0, tzinfo=UTC), T0) is None


# --------------------------------------------------------------------------- sleeping and the loop


@pytest.mark.parametrize(
    ("now", "expected"),
    [("08:59:30", 30.0), ("08:00:00", SLEEP_CAP_S), ("09:00:00", SLEEP_CAP_S)],
)
def test_sleep_until_the_next_fire_time_capped(now: str, expected: float) -> None:
    world = World(time=FakeTime(at(now)))
    world.tasks(task("nine"), task("paused-at-8-59-45", "daily 08:59", enabled=False))
    scheduler = world.scheduler()
    assert scheduler.sleep_seconds(scheduler.tick()) == expected


def test_without_tasks_the_loop_sleeps_the_cap() -> None:
    world = World()
    assert world.scheduler().sleep_seconds(None) == SLEEP_CAP_S


def test_the_loop_fires_at_the_due_second_and_stops_cleanly() -> None:
    world = World(time=FakeTime(at("08:58:10")), runs_for={"nine": 5})
    world.tasks(task("nine"))
    waker = FakeWaker(world.time, processes=world.processes, stop_at=[at("09:10:00")])
    run_loop(world.scheduler(), waker, grace_s=30)
    assert world.started == [("nine", at("09:00:00"))]
    assert waker.sleeps[:2] == [60.0, 50.0] and all(s <= SLEEP_CAP_S for s in waker.sleeps)
    assert world.log[-1] == "2027-03-22T09:10:00Z scheduler: stopped"
    assert world.lines("nine")[-1] == "2027-03-22T09:00:05Z nine: finished exit 0 (success) in 5.0s"


def test_stop_waits_for_a_run_that_ends_within_the_grace_period() -> None:
    world = World(runs_for={"nine": 20})
    world.tasks(task("nine"))
    waker = FakeWaker(world.time, processes=world.processes, stop_at=[at("09:00:05")])
    run_loop(world.scheduler(), waker, grace_s=30)
    assert world.processes[0].signals == []
    assert world.log[-3:] == [
        "2027-03-22T09:00:05Z scheduler: stopping: waiting up to 30s for 1 running task(s): nine",
        "2027-03-22T09:00:20Z nine: finished exit 0 (success) in 20.0s",
        "2027-03-22T09:00:20Z scheduler: stopped",
    ]


def test_stop_sends_sigterm_after_the_grace_period_then_sigkill() -> None:
    world = World(runs_for={"polite": None, "stubborn": None})
    world.tasks(task("polite"), task("stubborn"))
    scheduler = world.scheduler()
    waker = FakeWaker(world.time, processes=world.processes, stop_at=[at("09:00:05")])
    scheduler.tick()
    world.processes[1].ends_on_term = False
    waker.sleep(5)
    scheduler.stop(waker, grace_s=10)
    polite, stubborn = world.processes
    assert polite.signals == ["TERM"] and stubborn.signals == ["TERM", "KILL"]
    assert "2027-03-22T09:00:15Z polite: still running: sending SIGTERM (pid 100)" in world.log
    assert "2027-03-22T09:00:17Z polite: finished exit 130 (interrupted) in 17.0s; output in" in "\n".join(world.log)
    kill_time = (at("09:00:15") + timedelta(seconds=TERM_WAIT_S)).strftime("%H:%M:%S")
    assert f"2027-03-22T{kill_time}Z stubborn: finished killed by SIGKILL" in "\n".join(world.log)
    assert world.log[-1].endswith("scheduler: stopped") and not scheduler.runs


def test_a_second_stop_request_ends_the_grace_period_at_once() -> None:
    world = World(runs_for={"nine": None})
    world.tasks(task("nine"))
    waker = FakeWaker(world.time, processes=world.processes, stop_at=[at("09:00:05"), at("09:00:07")])
    run_loop(world.scheduler(), waker, grace_s=300)
    assert "2027-03-22T09:00:07Z nine: still running: sending SIGTERM (pid 100)" in world.log


def test_once_runs_what_is_due_waits_and_counts_failures() -> None:
    world = World(runs_for={"ok": 3, "bad": 7, "locked": 1}, exit_codes={"bad": 4, "locked": 8})
    world.tasks(task("ok"), task("bad"), task("locked"), task("later", "daily 10:00"))
    scheduler = world.scheduler()
    assert run_once(scheduler, FakeWaker(world.time, processes=world.processes), grace_s=30) == 1
    assert not scheduler.runs and world.time.now >= at("09:00:07")
    assert [name for name, _ in world.started] == ["ok", "bad", "locked"]
    assert "locked: finished exit 8 (locked)" in "\n".join(world.log)


def test_once_with_nothing_due_says_so() -> None:
    world = World(time=FakeTime(at("08:00:00")))
    world.tasks(task("nine"))
    assert run_once(world.scheduler(), FakeWaker(world.time, processes=world.processes), grace_s=30) == 0
    assert world.log == ["2027-03-22T08:00:00Z scheduler: nothing due"]


def test_exit_words() -> None:
    assert exit_words(0) == "exit 0 (success)"
    assert exit_words(130) == "exit 130 (interrupted)"
    assert exit_words(-9) == "killed by SIGKILL"
    assert exit_words(77) == "exit 77"


# --------------------------------------------------------------------------- the catch_up field


def test_catch_up_is_an_optional_boolean_of_task_files(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("id: t\nprompt: p\nschedule: daily 09:00\ntimezone: UTC\ncatch_up: true\n")
    loaded = load_task_file(path)
    assert loaded.catch_up is True and task_from_dict(loaded.to_dict()).catch_up is True
    assert "catch_up" not in task("plain").to_dict() and task("plain").catch_up is False
    path.write_text("id: t\nprompt: p\ncatch_up: 'yes'\n")
    with pytest.raises(TaskFileError, match="field 'catch_up'"):
        load_task_file(path)


# --------------------------------------------------------------------------- the real waker


def test_the_signal_waker_counts_stop_requests_and_wakes_when_a_child_ends() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with signal_waker() as waker:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        waker.sleep(1.0)  # returns at once: the signals wrote to the wakeup pipe
        assert waker.stops == 2
        began = time.monotonic()
        waker.sleep(0.3)  # after a stop request it still sleeps (the grace period is no busy loop)
        assert time.monotonic() - began >= 0.25
        child = subprocess.Popen(["sleep", "0.2"])
        began = time.monotonic()
        waker.sleep(10)
        assert time.monotonic() - began < 5 and child.wait() == 0
    assert signal.getsignal(signal.SIGTERM) is before


# --------------------------------------------------------------------------- the real command

DUE = "2027-03-22T09:00:00+00:00"
LOG_LINE = re.compile(r"^2\d{3}-\d\d-\d\dT\d\d:\d\d:\d\dZ [a-z0-9-]+: \S.*$")


def store_task(folder: Path, task_id: str, workdir: Path, **fields: object) -> None:
    """A task file `<task_id>.yaml` in `folder`, due daily at 09:00 UTC."""
    record: dict[str, object] = {
        "id": task_id,
        "prompt": f"Run {task_id}",
        "schedule": "daily 09:00",
        "timezone": "UTC",
    }
    record |= {"workdir": str(workdir), "limits": {"timeout": "2m", "max_turns": 5}, **fields}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{task_id}.yaml").write_text(yaml.safe_dump(record))


def history_rows(home: Path) -> list[dict[str, object]]:
    with sqlite3.connect(home / "state.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT task_id, status, exit_code, started_at FROM runs")]


def without_variables(line: str) -> str:
    """A log line without its timestamp, pids and durations."""
    line = re.sub(r"pid \d+", "pid N", re.sub(r"in \d+\.\ds", "in Ts", line))
    return line.split(" ", 1)[1]


def processes_with(marker: str) -> list[int]:
    """Live processes whose command line holds `marker` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_once_runs_the_due_task_through_execute_and_leaves_a_history_row(
    fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path
) -> None:
    fake_api.enqueue(tool_use(("bash", {"command": "echo ran > out.txt"})), text("Done."))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    store_task(isolated_home / "tasks", "nine", workspace)
    store_task(isolated_home / "tasks", "ten", workspace, schedule="daily 10:00")
    (isolated_home / "tasks" / "broken.yaml").write_text("id: broken\nprompt: [\n")
    proc = bassi_process("scheduler", "run", "--once", cwd=tmp_path, env={"BASSI_NOW": DUE})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    lines = err.splitlines()
    assert all(LOG_LINE.match(line) for line in lines), err
    assert re.fullmatch(r"2027-03-22T09:00:00Z nine: due 2027-03-22T09:00:00Z, started pid \d+", lines[-2]), err
    assert re.fullmatch(r"2027-03-22T09:00:00Z nine: finished exit 0 \(success\) in \d+\.\ds", lines[-1]), err
    assert [line for line in lines if " broken: task file broken: " in line] == [lines[0]]
    assert out == "" and "Traceback" not in err and " ten: " not in err
    assert history_rows(isolated_home) == [
        {"task_id": "nine", "status": "success", "exit_code": 0, "started_at": "2027-03-22T09:00:00.000+00:00"}
    ]
    assert (workspace / "out.txt").read_text() == "ran\n"
    (run_output,) = (isolated_home / "logs" / "nine").glob("scheduler-*.log")
    assert '"status": "success"' in run_output.read_text()


def test_once_exits_1_when_a_run_failed(fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path) -> None:
    store_task(isolated_home / "tasks", "nine", tmp_path / "missing-workspace")
    proc = bassi_process("scheduler", "run", "--once", cwd=tmp_path, env={"BASSI_NOW": DUE})
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "nine: due 2027-03-22T09:00:00Z, not started: the workspace " in err and "Traceback" not in err


@pytest.mark.slow
def test_once_with_a_tasks_dir_runs_its_files_and_exits_1_when_a_run_failed(
    fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path
) -> None:
    fake_api.enqueue(text("FAILED: metrics.csv does not exist"))
    store_task(tmp_path / "repo-tasks", "nine", Path("."))  # workdir relative to the task file
    store_task(isolated_home / "tasks", "stored", tmp_path)  # in BASSI_HOME/tasks: not read with --tasks-dir
    args = ("scheduler", "run", "--once", "--tasks-dir", "repo-tasks")
    proc = bassi_process(*args, cwd=tmp_path, env={"BASSI_NOW": DUE})
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert "nine: finished exit 1 (failed)" in err and "stored" not in err
    assert [(row["task_id"], row["status"]) for row in history_rows(isolated_home)] == [("nine", "failed")]


@pytest.mark.slow
def test_sigterm_lets_the_run_end_with_its_partial_result_and_exits_0(
    fake_api: FakeMessagesAPI, isolated_home: Path, tmp_path: Path
) -> None:
    marker = f"bassi-fg-test-{os.getpid()}-{time.monotonic_ns()}"
    command = f"python3 -c 'import time; time.sleep(300)' {marker}"
    fake_api.enqueue(tool_use(("bash", {"command": command})))
    store_task(isolated_home / "tasks", "nine", tmp_path)
    proc = bassi_process("scheduler", "run", "--grace", "1s", cwd=tmp_path, env={"BASSI_NOW": DUE})
    try:
        _wait_until(lambda: len(processes_with(marker)) > 0, 60, "the task's tool never started")
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=1 + TERM_WAIT_S + 20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert time.monotonic() - sent < 1 + TERM_WAIT_S + 10
    lines = err.splitlines()
    assert all(LOG_LINE.match(line) for line in lines) and "Traceback" not in err, err
    decisions = [without_variables(line) for line in lines]
    (run_output,) = (isolated_home / "logs" / "nine").glob("scheduler-*.log")
    assert decisions == [
        "scheduler: started (pid N)",
        "nine: due 2027-03-22T09:00:00Z, started pid N",
        "scheduler: stopping: waiting up to 1s for 1 running task(s): nine",
        "nine: still running: sending SIGTERM (pid N)",
        f"nine: finished exit 130 (interrupted) in Ts; output in {run_output}",
        "scheduler: stopped",
    ]
    _wait_until(lambda: processes_with(marker) == [], 5, f"processes outlived the run: {processes_with(marker)}")
    assert [row["status"] for row in history_rows(isolated_home)] == ["interrupted"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_idle_scheduler_stops_at_once_with_exit_0(signum: int, tmp_path: Path) -> None:
    proc = bassi_process("scheduler", "run", cwd=tmp_path)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        began = time.monotonic()
        proc.send_signal(signum)
        _, rest = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0 and time.monotonic() - began < 5
    assert first.endswith(f"scheduler: started (pid {proc.pid})\n")
    assert rest.endswith("scheduler: stopped\n") and len(rest.splitlines()) == 1, rest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grace", "soon"], "--grace"),
        (["--tasks-dir", "/no/such/folder"], "--tasks-dir"),
        (["--bogus"], "--bogus"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, out, err = run_cli("scheduler", "run", *args)
    assert code == 2 and message in err and "Traceback" not in err and out == ""


def test_running_the_scheduler_imports_no_agent_library(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from bassi_ci.cli import main\n"
        "try:\n"
        "    main(['scheduler', 'run', '--once'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LOADED', [m for m in ('anthropic', 'httpx', 'git', 'mcp') if m in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert "nothing due" in result.stderr and "LOADED []" in result.stderr, result.stderr


def _wait_until(condition: Callable[[], bool], seconds: float, failure: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.1)


# --------------------------------------------------------------------------- the container recipe

DOCKERFILE = ROOT / "examples" / "scheduler" / "Dockerfile"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_container_runs_the_scheduler_as_a_non_root_user_with_bassi_home_in_a_volume() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0][0] == "FROM"
    users = [args for name, args in instructions if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    entrypoint = yaml.safe_load(next(args for name, args in instructions if name == "ENTRYPOINT"))
    assert entrypoint[-3:] == ["bassi", "scheduler", "run"]
    assert ("ENV", "BASSI_HOME=/data") in instructions and ("VOLUME", '["/data"]') in instructions
    copied = [args.split()[0] for name, args in instructions if name == "COPY"]
    assert all((ROOT / path).exists() for path in copied), copied
    assert "--stop-timeout 60" in DOCKERFILE.read_text() and "--stop-timeout 60" in (ROOT / "README.md").read_text()


@requires("hadolint")
def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(["hadolint", str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_last_resort_kills_the_whole_run_also_its_children() -> None:
    """A run that ignores SIGTERM and has children: SIGKILL reaches the whole process group."""
    from bassi_ci.scheduling.foreground import RunProcess

    process = RunProcess(
        ["sh", "-c", "trap '' TERM; sleep 300 & sleep 301 & wait"],
        start_new_session=True,
    )
    time.sleep(0.3)
    process.terminate()  # ignored
    time.sleep(0.2)
    assert process.poll() is None
    process.kill()
    process.wait(timeout=5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _pids_with(str(process.pid)):
        time.sleep(0.05)
    assert not _pids_with(str(process.pid))


def _pids_with(session: str) -> list[int]:
    """Processes whose session id is `session` (the run's group leader's pid)."""
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[3] == session and fields[0] != "Z":  # the session id; a zombie is dead already
            found.append(int(stat_file.parent.name))
    return found
