"""Next fire times: wall-clock patterns in an IANA zone turned into real instants.

DST policy (the documented one, see DESIGN.md):

* Fixed times of day (`daily`, weekday, `monthly`, `once`, and cron expressions whose
  minute and hour fields both do not start with `*`): a wall time that does not
  exist (spring-forward gap) runs at the first valid instant after the gap, e.g.
  02:30 on 2027-03-28 in Europe/Berlin runs at 03:00 CEST; a wall time that occurs
  twice (fall back) runs once, at its first occurrence.
* Clock-aligned intervals (`every 30m`, `every 2h`, `hourly`, and cron expressions
  whose minute or hour field starts with `*`): they run at every real instant whose
  wall clock matches. Wall times inside a gap do not exist and are skipped; in a
  repeated hour both passes run, so `every 30m` keeps firing every 30 real minutes.
  This is how Debian cron and cronsim treat such jobs.
* Other intervals (`every 90m`, `every 7h`) are fixed steps counted from
  1970-01-01T00:00Z and ignore DST entirely.

Calendar matching itself is cronsim's, run on naive wall-clock times, so that the
instant mapping above is the only place where zones matter.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules.model import Interval, Once, Schedule, calendar_expression, is_fixed_time
from bassi_ci.schedules.zones import validate_timezone

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def next_runs(schedule: Schedule, tz: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` runs strictly after the aware time `after`, as times in zone `tz`."""
    zone = validate_timezone(tz)
    if after.tzinfo is None or after.utcoffset() is None:
        raise ScheduleError("the start time for next runs must carry a time zone offset")
    if count < 1:
        raise ScheduleError(f"count must be at least 1, got {count}")
    instants = islice(_instants_after(schedule, zone, after.astimezone(UTC)), count)
    return [instant.astimezone(zone) for instant in instants]


def next_run(schedule: Schedule, tz: str, after: datetime) -> datetime | None:
    """The next run strictly after `after`, or None when there is none (a past `once`)."""
    runs = next_runs(schedule, tz, after, 1)
    return runs[0] if runs else None


def _instants_after(schedule: Schedule, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    if isinstance(schedule, Once):
        candidates: Iterator[datetime] = iter(wall_to_instants(schedule.at, zone, fixed=True))
    elif (expression := calendar_expression(schedule)) is not None:
        candidates = _calendar_instants(expression, zone, after)
    else:
        assert isinstance(schedule, Interval)
        candidates = _fixed_steps(schedule.minutes, after)
    last = after
    for instant in candidates:
        # Two wall times in a gap can map to the same instant; report it once.
        if instant > last:
            yield instant
            last = instant


def _fixed_steps(minutes: int, after: datetime) -> Iterator[datetime]:
    step = timedelta(minutes=minutes)
    try:
        instant = EPOCH + ((after - EPOCH) // step + 1) * step
        while True:
            yield instant
            instant += step
    except OverflowError:
        return


def _calendar_instants(expression: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Instants, in order, of the wall-clock matches of `expression` from about `after` on.

    Matches come in wall-clock order, but the second pass through a repeated hour
    comes later in real time than wall times just after it; a heap holds instants
    until no later match can come before them. The lowest instant of a wall time
    never decreases as wall time grows, which makes that safe.
    """
    from cronsim import CronSim

    fixed = is_fixed_time(expression)
    pending: list[datetime] = []
    try:
        for wall in CronSim(expression, _search_start(after, zone)):
            found = wall_to_instants(wall, zone, fixed)
            while pending and found and pending[0] < found[0]:
                yield heapq.heappop(pending)
            for instant in found:
                heapq.heappush(pending, instant)
    except OverflowError:
        pass  # the end of datetime's range; nothing later to report
    while pending:
        yield heapq.heappop(pending)


def _search_start(after: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall time at or before every wall time that can still run after `after`.

    Using the smaller of the offsets now and a day later makes the search start
    early enough to catch the second pass through a repeated hour.
    """
    offsets = [after.astimezone(zone).utcoffset()]
    with contextlib.suppress(OverflowError):  # near datetime.max there is no "a day later"
        offsets.append((after + timedelta(days=1)).astimezone(zone).utcoffset())
    smallest = min(offset for offset in offsets if offset is not None)
    return (after + smallest).replace(tzinfo=None, microsecond=0)


def wall_to_instants(wall: datetime, zone: ZoneInfo, fixed: bool) -> list[datetime]:
    """The UTC instants at which the naive wall time `wall` runs, per the DST policy."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return [first.astimezone(UTC)]
    if _exists(first):  # a repeated wall time
        passes = [first] if fixed else [first, second]
        return [instant.astimezone(UTC) for instant in passes]
    return [_gap_end(wall, zone)] if fixed else []


def _exists(local: datetime) -> bool:
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first real instant whose wall clock is at or after `wall` (the gap's end)."""
    # The two readings of a nonexistent time bracket the transition; bisect on seconds.
    early, late = sorted(wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))
    low, high = 0, int((late - early).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if (early + timedelta(seconds=middle)).astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return early + timedelta(seconds=high)
