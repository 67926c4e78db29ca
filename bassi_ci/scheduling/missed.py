"""Missed runs: due times of an installed task that left no row in the run history.

A due time is *missed* when no run of the task started at or after it and before the next due
time. Any row counts, whatever its status (a failed run still ran) and whoever started it (a
`bassi execute` by hand in that interval hides a missed scheduled run; the history does not
say who started a run).

Which due times are looked at (`due_window`):

- only since the task was installed into the OS scheduler (the registry's `installed_at`): a
  task that is not installed is never due, so it never misses a run;
- at most LOOKBACK back, and about the newest CHECKED of them: the point is "is this task
  running now", and a task due every minute would otherwise cost `schedule list` a long walk
  through its due times. The window is guessed from the spacing of the first two due times
  and corrected when it holds too many or too few, so a task costs the engine about CHECKED
  due times (~4 ms) however busy its schedule;
- up to now minus GRACE: a run that the OS is starting right now has not written its row yet.

Pauses: a paused task has no due times, so nothing counts as missed while it is paused. bassi
keeps no record of past pauses; what it knows is the installation time, which the lifecycle
commands renew whenever they install the entry again (`resume` re-installs on systemd; `edit`
re-installs when the schedule changes). Due times of a pause that ended without a new
installation time count as missed.

Pure functions: the caller passes "now", the installation time and the run start times.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bassi_ci.schedules import Schedule, next_runs, parse_schedule
from bassi_ci.tasks.model import Task

GRACE = timedelta(minutes=5)
LOOKBACK = timedelta(days=7)
CHECKED = 50  # due times looked at, the newest
SHOWN = 5  # missed due times kept for display, the newest
_ATTEMPTS = 10  # windows tried, at most, to find the newest CHECKED due times
_MAX_CHUNK = 256  # due times asked of the engine at once, at most
_TINY = timedelta(microseconds=1)  # the engine's times are strictly after its start


@dataclass(frozen=True)
class DueWindow:
    """The due times looked at, oldest first, and the due time after the last of them
    (None when there is none: a `once`), which closes the last one's interval."""

    times: tuple[datetime, ...]
    following: datetime | None

    @property
    def start(self) -> datetime | None:
        return self.times[0] if self.times else None


@dataclass(frozen=True)
class MissedRuns:
    count: int
    latest: tuple[datetime, ...]  # the newest SHOWN missed due times, newest first
    checked: int  # how many due times were looked at
    since: datetime | None  # the oldest due time looked at


NONE_MISSED = MissedRuns(count=0, latest=(), checked=0, since=None)


def due_window(task: Task, installed_at: datetime | None, now: datetime) -> DueWindow:
    """The due times of `task` to check for missed runs (see the module docstring)."""
    if installed_at is None or not task.enabled or task.schedule is None or task.timezone is None:
        return DueWindow((), None)
    schedule, zone = parse_schedule(task.schedule), task.timezone
    since, until = max(installed_at + _TINY, now - LOOKBACK), now - GRACE  # strictly after the install
    if since > until:
        return DueWindow((), None)
    # Start where the newest CHECKED due times should begin, judged by the first two; correct
    # the guess when the schedule is denser (too many) or sparser (too few) near now.
    first = next_runs(schedule, zone, since - _TINY, 2)
    spacing = first[1] - first[0] if len(first) == 2 else LOOKBACK
    start = max(since, until - spacing * CHECKED)
    for _ in range(_ATTEMPTS):
        expected = int((until - start) / spacing) + 2  # asked of the engine at once: no more, no less
        times, following, complete = _due_between(schedule, zone, start, until, 2 * CHECKED, expected)
        if not complete:
            spacing = (times[-1] - times[0]) / (len(times) - 1)
            start = max(start, until - spacing * CHECKED)
        elif len(times) >= CHECKED or start == since:
            break
        else:
            start = max(since, until - (until - start) * 2)
    return DueWindow(tuple(times[-CHECKED:]), following)


def _due_between(
    schedule: Schedule, zone: str, start: datetime, until: datetime, limit: int, expected: int
) -> tuple[list[datetime], datetime | None, bool]:
    """The due times in [start, until], at most `limit` of them; the due time after the last
    one returned; and whether they are all of that range (False: cut at `limit`)."""
    times: list[datetime] = []
    after, size = start - _TINY, max(2, min(expected, limit + 1, _MAX_CHUNK))
    while True:
        chunk = next_runs(schedule, zone, after, size)
        for moment in chunk:
            if moment > until:
                return times, moment, True
            if len(times) == limit:
                return times, moment, False
            times.append(moment)
        if len(chunk) < size:
            return times, None, True
        # More than expected: growing chunks.
        after, size = chunk[-1], min(size * 2, _MAX_CHUNK)


def missed_due_times(window: DueWindow, run_starts: Iterable[datetime]) -> list[datetime]:
    """The due times of `window` with no run started in [due time, next due time), oldest first."""
    starts = sorted(run_starts)
    closers: Sequence[datetime | None] = (*window.times[1:], window.following)
    return [due for due, closer in zip(window.times, closers, strict=True) if not _ran(starts, due, closer)]


def _ran(starts: Sequence[datetime], due: datetime, closer: datetime | None) -> bool:
    index = bisect.bisect_left(starts, due)
    return index < len(starts) and (closer is None or starts[index] < closer)


def missed_runs(task: Task, installed_at: datetime | None, run_starts: Iterable[datetime], now: datetime) -> MissedRuns:
    """How many due times of `task` went without a run, and the newest few of them."""
    return missed_in(due_window(task, installed_at, now), run_starts)


def missed_in(window: DueWindow, run_starts: Iterable[datetime]) -> MissedRuns:
    """`missed_runs` for a window already computed (the caller reads the history from its start)."""
    if not window.times:
        return NONE_MISSED
    missed = missed_due_times(window, run_starts)
    return MissedRuns(
        count=len(missed), latest=tuple(reversed(missed[-SHOWN:])), checked=len(window.times), since=window.start
    )
