"""Next fire times: wall-clock patterns in an IANA zone turned into real instants.

DST policy (docs/design.md), for every calendar schedule (`daily`, weekday, `monthly`,
`once`, clock-aligned intervals such as `every 30m` or `hourly`, cron expressions):

* a wall time that does not exist (spring-forward gap) runs at the first valid instant
  after the gap, e.g. 02:30 on 2027-03-28 in Europe/Berlin runs at 03:00 CEST; several
  wall times in one gap (`every 30m`) run once there;
* a wall time that occurs twice (fall back) runs once, at its first occurrence, so
  `every 30m` does not run the repeated hour a second time (as systemd does).

Other intervals (`every 90m`, `every 7h`) are fixed steps counted from
1970-01-01T00:00Z and ignore DST entirely.

Calendar matching itself is cronsim's, run on naive wall-clock times, so that the
wall-to-instant mapping below is the only place where zones matter.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from cronsim import CronSim

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules.model import Interval, Once, Schedule, calendar_expression
from bassi_ci.schedules.zones import validate_timezone

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def next_runs(schedule: Schedule, tz: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` runs strictly after the aware time `after`, as times in zone `tz`."""
    # `schedule list` asks this for 1,000 tasks at one `now`, mostly for a few shared (schedule,
    # zone) pairs: a pure function, so remember its answers (~40 ms of a cold list of 1,000).
    return list(_cached_next_runs(schedule, tz, after, count))


@functools.lru_cache(maxsize=256)
def _cached_next_runs(schedule: Schedule, tz: str, after: datetime, count: int) -> tuple[datetime, ...]:
    zone = validate_timezone(tz)
    if after.tzinfo is None or after.utcoffset() is None:
        raise ScheduleError("the start time for next runs must carry a time zone offset")
    if count < 1:
        raise ScheduleError(f"count must be at least 1, got {count}")
    instants = islice(_instants_after(schedule, zone, after.astimezone(UTC)), count)
    return tuple(instant.astimezone(zone) for instant in instants)


def next_run(schedule: Schedule, tz: str, after: datetime) -> datetime | None:
    """The next run strictly after `after`, or None when there is none (a past `once`)."""
    runs = next_runs(schedule, tz, after, 1)
    return runs[0] if runs else None


def _instants_after(schedule: Schedule, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    if isinstance(schedule, Once):
        candidates: Iterator[datetime] = iter([wall_to_instant(schedule.at, zone)])
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
    """Instants of the wall-clock matches of `expression`, from shortly before `after` on.

    The mapping from wall time to instant never goes backwards, so wall-clock order
    is real-time order (equal instants from one gap are dropped by the caller).
    """
    try:
        for wall in CronSim(expression, _search_start(after, zone)):
            yield wall_to_instant(wall, zone)
    except OverflowError:
        return  # the end of datetime's range; nothing later to report


def _search_start(after: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall time at or before every wall time that can still run after `after`.

    Using the smaller of the offsets now and a day later makes the search start early
    enough whichever side of a DST change `after` lies on; earlier matches are dropped.
    """
    offsets = [after.astimezone(zone).utcoffset()]
    with contextlib.suppress(OverflowError):  # near datetime.max there is no "a day later"
        offsets.append((after + timedelta(days=1)).astimezone(zone).utcoffset())
    smallest = min(offset for offset in offsets if offset is not None)
    return (after + smallest).replace(tzinfo=None, microsecond=0)


def wall_to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant at which the naive wall time `wall` runs, per the DST policy."""
    first = wall.replace(tzinfo=zone, fold=0)
    if _exists(first):  # normal, or the first occurrence of a repeated wall time
        return first.astimezone(UTC)
    return _gap_end(wall, zone)


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
