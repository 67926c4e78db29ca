"""`bassi scheduler run`: a foreground scheduler for machines without one (containers).

Each tick reads the tasks again (so `schedule add/edit/pause` take effect without a restart),
starts every due task as `bassi execute --ci` in a child process, and logs each decision as
one line. Everything it touches (tasks, history, processes, clocks, the log, sleeping) comes
in through `Hooks`, so the decisions are tested with a fake clock and fake processes.

When is a task due? Each task has a `covered` instant: every fire time at or before it has
been dealt with. A tick at `now` looks at the fire times in (covered, now]; if there is any,
the task is due once (several fire times that passed during one long tick collapse into one
run), and covered becomes `now`. A paused task has no fire times, so its due times pass
unrun and resuming it never fires them late. Where `covered` starts:

* at the first tick (the scheduler's start `T0`): `T0 - LATE_S`, so a fire time a few
  seconds before the start still runs (`--once` started by an outside trigger is always a
  little late; the same 90 s the due-guard accepts);
* for a task first seen at a later tick (just added): the previous tick;
* never before the start of the task's latest run in the history: a fire time counts as run
  when a run started at or after it, so a restart does not run it twice;
* **catch-up**: a task with `catch_up: true` starts, at the first tick, from its latest
  run's start instead. A due time since that run that passed while no scheduler was running
  (a "missed run") is then caught up once, at start. A task with no history has no missed
  runs: its window starts with the scheduler.

A task whose previous run is still going when it is due again is not started (never two runs
of one task at once); the first such due time is logged as skipped, later ones are counted.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Protocol

from bassi_ci import clock
from bassi_ci.errors import BassiError, ExitCode
from bassi_ci.home import logs_dir, state_db_path
from bassi_ci.runs.history import read_task_stats
from bassi_ci.runs.resolve import task_workdir
from bassi_ci.scheduling.base import bassi_argv
from bassi_ci.scheduling.due import TOLERANCE_S
from bassi_ci.tasks.lookup import history_key
from bassi_ci.tasks.manage import next_fire_times
from bassi_ci.tasks.model import Task
from bassi_ci.tasks.store import StoredTask

LATE_S = TOLERANCE_S
# Sleep at most this long, so that edited task files are seen within a minute.
SLEEP_CAP_S = 60.0
# After the grace period: how long SIGTERM may take (execute writes its partial result), then SIGKILL.
TERM_WAIT_S = 10.0
KILL_WAIT_S = 5.0
FIRE_TIMES_BATCH = 100  # the most fire times asked of the engine at once
SCHEDULER = "scheduler"  # the subject of log lines about the scheduler itself
# Control characters and everything str.splitlines() (and so a log reader) breaks a line at.
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class Process(Protocol):
    """What the scheduler needs of a started run (subprocess.Popen has it)."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


@dataclass(frozen=True)
class Started:
    process: Process
    output: Path | None  # where the run's own stdout/stderr went


class Waker(Protocol):
    """Sleeping, and the stop requests (SIGTERM, SIGINT) that end it early."""

    @property
    def stops(self) -> int: ...

    def sleep(self, seconds: float) -> None:
        """Return after `seconds`, or earlier: on a stop request or when a child process ends."""
        ...


@dataclass(frozen=True)
class Hooks:
    """Everything the scheduler reads and does outside itself."""

    read_tasks: Callable[[], list[StoredTask]]
    # The start of each task's latest run, by history key (tasks.lookup.history_key; runs from
    # before keys are under the bare task id).
    last_starts: Callable[[], dict[str, datetime]]
    start: Callable[[Task], Started]
    log: Callable[[str], None]  # one line, without its newline
    now: Callable[[], datetime] = clock.now
    monotonic: Callable[[], float] = time.monotonic


@dataclass
class Run:
    task_id: str
    started: Started
    started_mono: float
    skipped: int = 0  # due times that came while it was running


def stamp(moment: datetime) -> str:
    """Log timestamps: UTC to the second, e.g. 2027-03-22T09:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def latest_fire_time(task: Task, after: datetime, until: datetime) -> datetime | None:
    """The latest fire time of `task` in (after, until], or None.

    Looks back from `until` in doubling windows, so a task that missed a year of minutes
    costs a few dozen fire times, not half a million.
    """
    span = timedelta(hours=1)
    while True:
        start = max(after, until - span)
        found = _last_fire_in(task, start, until)
        if found is not None or start == after:
            return found
        span *= 2


def _last_fire_in(task: Task, start: datetime, until: datetime) -> datetime | None:
    """The last fire time in (start, until], asking the engine for 1, 2, 4 … up to 100 at a time:
    a tick's window usually holds none or one, and every task is looked at on every tick."""
    last = None
    size = 1
    while True:
        batch = next_fire_times(task, start, size)
        inside = [moment for moment in batch if moment <= until]
        if inside:
            last = inside[-1]
        if len(inside) < len(batch) or len(batch) < size:
            return last
        start = batch[-1]
        size = min(size * 2, FIRE_TIMES_BATCH)


def one_line(text: str) -> str:
    """`text` with every character that could end a log line escaped (\\n, \\u2028, ...).

    Messages carry file names and errors from a tasks folder someone else may have written:
    a name with a line break must not forge a second decision in the log.
    """
    return _LINE_BREAKING.sub(lambda match: match[0].encode("unicode_escape").decode("ascii"), text)


def exit_words(code: int) -> str:
    """`exit 0 (success)`, `exit 8 (locked)`, `killed by SIGKILL`."""
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    known = ExitCode.known(code)
    return f"exit {code} ({known.status})" if known is not None else f"exit {code}"


def failed(code: int) -> bool:
    """Exit 8 (another run of the task holds its lock) did nothing and failed nothing."""
    return code not in (ExitCode.SUCCESS, ExitCode.LOCKED)


class ForegroundScheduler:
    def __init__(self, hooks: Hooks) -> None:
        self.hooks = hooks
        self.runs: dict[str, Run] = {}
        self.failures = 0  # runs that ended in failure, or could not start
        self._covered: dict[str, datetime] = {}
        self._first_tick: datetime | None = None
        self._previous_tick: datetime | None = None
        self._reported: set[str] = set()  # problems logged at the previous tick
        self._problems_now: set[str] = set()

    # ------------------------------------------------------------------ one tick

    def tick(self) -> datetime | None:
        """Reap ended runs, start the due tasks; return the next fire time of any task."""
        now = self.hooks.now()
        self._problems_now = set()
        self.reap()
        tasks = self._read_tasks(now)
        starts: dict[str, datetime] | None = None
        for task in tasks:
            if task.id not in self._covered:
                starts = self._last_starts(now) if starts is None else starts
                self._covered[task.id] = self._initial_cover(task, now, starts)
            self._consider(task, now)
        self._covered = {task.id: self._covered[task.id] for task in tasks}  # forget deleted tasks
        self._reported = self._problems_now
        self._first_tick = self._first_tick or now
        self._previous_tick = now
        return self._next_fire(tasks, now)

    def _problem(self, now: datetime, subject: str, message: str) -> None:
        """Log a problem at the first tick that has it; again only after a tick without it."""
        line = one_line(f"{subject}: {message}")
        self._problems_now.add(line)
        if line not in self._reported:
            self.hooks.log(f"{stamp(now)} {line}")

    def _read_tasks(self, now: datetime) -> list[Task]:
        try:
            entries = self.hooks.read_tasks()
        except BassiError as problem:
            self._problem(now, SCHEDULER, f"cannot read the tasks: {problem}")
            return []
        for entry in entries:
            if entry.error:
                self._problem(now, entry.task_id, f"task file broken: {entry.error}")
        return [entry.task for entry in entries if entry.task is not None]

    def _last_starts(self, now: datetime) -> dict[str, datetime]:
        try:
            return self.hooks.last_starts()
        except BassiError as problem:
            self._problem(now, SCHEDULER, f"cannot read the run history: {problem}")
            return {}

    def _initial_cover(self, task: Task, now: datetime, last_starts: dict[str, datetime]) -> datetime:
        """Where the task's window starts when the scheduler first sees it (see the module doc)."""
        first = self._first_tick is None
        floor = now - timedelta(seconds=LATE_S) if first or self._previous_tick is None else self._previous_tick
        last = last_starts.get(history_key(task) or task.id) or last_starts.get(task.id)
        if last is None:
            return floor
        return last if first and task.catch_up else max(floor, last)

    def _consider(self, task: Task, now: datetime) -> None:
        try:
            due = latest_fire_time(task, self._covered[task.id], now)
        except BassiError as problem:
            self._problem(now, task.id, f"cannot compute its schedule: {problem}")
            return
        self._covered[task.id] = now
        if due is not None:
            self._fire(task, due, now)

    def _fire(self, task: Task, due: datetime, now: datetime) -> None:
        running = self.runs.get(task.id)
        if running is not None:
            if running.skipped == 0:
                self._log(now, task.id, f"due {stamp(due)}, skipped: still running (pid {running.started.process.pid})")
            running.skipped += 1
            return
        missed = self._first_tick is None and due < now - timedelta(seconds=LATE_S)
        why = f"missed run due {stamp(due)}, catching up" if missed else f"due {stamp(due)}"
        try:
            started = self.hooks.start(task)
        except (BassiError, OSError) as problem:
            self.failures += 1
            self._log(now, task.id, f"{why}, not started: {_reason(problem)}")
            return
        self.runs[task.id] = Run(task.id, started, self.hooks.monotonic())
        self._log(now, task.id, f"{why}, started pid {started.process.pid}")

    def _next_fire(self, tasks: list[Task], now: datetime) -> datetime | None:
        upcoming = []
        for task in tasks:
            try:
                upcoming.extend(next_fire_times(task, now, 1))
            except BassiError:
                continue  # reported by _consider
        return min(upcoming, default=None)

    # ------------------------------------------------------------------ runs

    def reap(self) -> None:
        """Log and forget every run that has ended."""
        for task_id, run in list(self.runs.items()):
            code = run.started.process.poll()
            if code is None:
                continue
            del self.runs[task_id]
            seconds = self.hooks.monotonic() - run.started_mono
            line = f"finished {exit_words(code)} in {seconds:.1f}s"
            if run.skipped:
                line += f"; {run.skipped} due time(s) skipped while it ran"
            if failed(code):
                self.failures += 1
                if run.started.output is not None:
                    line += f"; output in {run.started.output}"
            self._log(self.hooks.now(), task_id, line)

    def sleep_seconds(self, next_fire: datetime | None) -> float:
        """Until the next fire time, at most SLEEP_CAP_S."""
        if next_fire is None:
            return SLEEP_CAP_S
        return min(SLEEP_CAP_S, max(0.0, (next_fire - self.hooks.now()).total_seconds()))

    def wait_for_runs(self, waker: Waker, seconds: float | None, *, stops_allowed: int) -> None:
        """Until every run ended, `seconds` passed (None: no limit) or more stop requests came."""
        deadline = None if seconds is None else self.hooks.monotonic() + seconds
        self.reap()
        while self.runs and waker.stops <= stops_allowed:
            left = SLEEP_CAP_S if deadline is None else deadline - self.hooks.monotonic()
            if left <= 0:
                return
            waker.sleep(min(left, SLEEP_CAP_S))
            self.reap()

    def stop(self, waker: Waker, grace_s: float) -> None:
        """A clean stop: start nothing more, give running tasks `grace_s`, then SIGTERM, then SIGKILL.

        A second stop request (another Ctrl-C) ends the grace period at once.
        """
        if self.runs:
            self._log(self.hooks.now(), SCHEDULER, f"stopping: waiting up to {grace_s:g}s for {self._running()}")
            self.wait_for_runs(waker, grace_s, stops_allowed=waker.stops)
        self._signal_runs("still running: sending SIGTERM", lambda process: process.terminate())
        self.wait_for_runs(waker, TERM_WAIT_S, stops_allowed=1 << 30)
        self._signal_runs(
            f"still running {TERM_WAIT_S:g}s after SIGTERM: sending SIGKILL", lambda process: process.kill()
        )
        self.wait_for_runs(waker, KILL_WAIT_S, stops_allowed=1 << 30)
        self._log(self.hooks.now(), SCHEDULER, "stopped")

    def _signal_runs(self, message: str, send: Callable[[Process], None]) -> None:
        self.reap()
        for run in self.runs.values():
            self._log(self.hooks.now(), run.task_id, f"{message} (pid {run.started.process.pid})")
            send(run.started.process)

    def _running(self) -> str:
        names = ", ".join(sorted(self.runs))
        return f"{len(self.runs)} running task(s): {names}"

    def _log(self, now: datetime, subject: str, message: str) -> None:
        self.hooks.log(f"{stamp(now)} {one_line(f'{subject}: {message}')}")


def _reason(problem: BaseException) -> str:
    if isinstance(problem, OSError) and problem.strerror:
        return f"{problem.strerror}: {problem.filename}" if problem.filename else problem.strerror
    return str(problem)


# ---------------------------------------------------------------------- the two ways to run


def run_loop(scheduler: ForegroundScheduler, waker: Waker, grace_s: float) -> None:
    """Until a stop request: tick, sleep until the next fire time (capped); then stop cleanly."""
    scheduler.hooks.log(f"{stamp(scheduler.hooks.now())} {SCHEDULER}: started (pid {os.getpid()})")
    while not waker.stops:
        next_fire = scheduler.tick()
        if not waker.stops:
            waker.sleep(scheduler.sleep_seconds(next_fire))
    scheduler.stop(waker, grace_s)


def run_once(scheduler: ForegroundScheduler, waker: Waker, grace_s: float) -> int:
    """One tick (catch-ups included), then wait for the runs it started; the number that failed."""
    scheduler.tick()
    if not scheduler.runs and not scheduler.failures:
        scheduler.hooks.log(f"{stamp(scheduler.hooks.now())} {SCHEDULER}: nothing due")
    scheduler.wait_for_runs(waker, None, stops_allowed=0)
    if scheduler.runs:  # a stop request came
        scheduler.stop(waker, grace_s)
    return scheduler.failures


# ---------------------------------------------------------------------- the real hooks


def store_last_starts() -> dict[str, datetime]:
    """The start of each task file's latest run, from the history (nothing when there is none
    yet): by history key, or by task id for runs recorded before keys."""
    db = state_db_path()
    if not db.exists():
        return {}
    stats = read_task_stats(db)  # a HistoryError is logged by the scheduler, once
    return {
        task_key or task_id: datetime.fromisoformat(entry.last_started_at)
        for (task_id, task_key), entry in stats.items()
        if entry.last_started_at
    }


def start_execute(task: Task, cwd: Path) -> Started:
    """`<this python> -m bassi_ci execute --ci <task file>` in the task's workdir.

    The task file's path, not its id: the child runs exactly the task this scheduler read,
    also from a `--tasks-dir` that `execute` would not search. Its stdout (the JSON result)
    and stderr (progress) go to one file per run in the task's log folder, beside the run's
    transcript; the history row is written by execute itself.
    """
    workdir = task_workdir(task, cwd)
    target = str(task.source) if task.source is not None else task.id
    output = logs_dir() / task.id / f"scheduler-{clock.now().astimezone(UTC):%Y%m%dT%H%M%SZ}.log"
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("ab") as sink:
        process = RunProcess(
            [*bassi_argv(), "execute", "--ci", target],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Started(process, output)


class RunProcess(subprocess.Popen[bytes]):
    """A run in its own session, so the last resort reaches all of it: `kill` sends SIGKILL to
    the whole process group, also to children of a run that ignored SIGTERM. (`terminate`
    stays SIGTERM to execute alone, which then stops its agent's processes itself.)"""

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group is gone already
            os.killpg(self.pid, signal.SIGKILL)


class SignalWaker:
    """The real Waker: SIGTERM and SIGINT count as stop requests instead of interrupting the
    scheduler half-way (cli.main's policy turns them into KeyboardInterrupt), and SIGCHLD
    wakes the sleep so a run's end is logged when it happens.

    Signals only set a counter; signal.set_wakeup_fd writes a byte to a pipe the sleep
    selects on, so a signal that comes just before the sleep is not lost.
    """

    def __init__(self, wakeups: IO[bytes]) -> None:
        self._wakeups = wakeups
        self._stops = 0

    @property
    def stops(self) -> int:
        return self._stops

    def request_stop(self, signum: int, frame: object) -> None:
        self._stops += 1

    def sleep(self, seconds: float) -> None:
        # No early return once a stop was requested: the grace period sleeps here too.
        readable, _, _ = select.select([self._wakeups], [], [], max(seconds, 0.0))
        if readable:
            self._wakeups.read(4096)  # drain; the pipe is non-blocking


@contextmanager
def signal_waker() -> Iterator[SignalWaker]:
    """Install the SignalWaker's handlers for the block; put the previous ones back after."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
    previous = {sig: signal.getsignal(sig) for sig in handled}
    with os.fdopen(read_fd, "rb", buffering=0) as wakeups:
        waker = SignalWaker(wakeups)
        old_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        try:
            signal.signal(signal.SIGTERM, waker.request_stop)
            signal.signal(signal.SIGINT, waker.request_stop)
            signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # only to write the wakeup byte
            yield waker
        finally:
            for sig, handler in previous.items():
                if handler is not None:  # None: set outside Python; nothing of ours to undo there
                    signal.signal(sig, handler)
            signal.set_wakeup_fd(old_fd)
            os.close(write_fd)
