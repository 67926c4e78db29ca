"""next_runs() against systemd's own calendar engine, through the OnCalendar= values
that to_oncalendar() renders: systemd must accept every value and fire at the same
instants, except at the DST edges where our documented policy differs on purpose."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pytest

from bassi_ci.schedules import next_runs, parse_schedule, to_oncalendar
from tests.oracles import requires
from tests.schedules.helpers import RENDERED, systemd_next

pytestmark = requires("systemd-analyze")

ITERATIONS = 5

# (schedule, zone, base time in UTC). DST dates 2027: Berlin Mar 28 / Oct 31,
# New York and St. John's Mar 14 / Nov 7, Sydney (southern) Apr 4 ends / Oct 3 starts.
AGREE = [
    ("daily 09:00", "Europe/Berlin", "2027-03-27 12:00"),
    ("daily 01:30", "Europe/Berlin", "2027-03-27 12:00"),
    ("sunday 03:30", "Europe/Berlin", "2027-03-27 12:00"),
    ("weekdays 09:00", "Europe/Berlin", "2027-03-27 12:00"),
    ("every 30m", "Europe/Berlin", "2027-03-28 00:15"),  # gap times are skipped by both
    ("hourly", "Europe/Berlin", "2027-03-27 23:30"),
    ("every 30m", "Europe/Berlin", "2027-10-30 23:45"),  # repeated hour: first pass only
    ("hourly", "America/New_York", "2027-11-07 04:30"),
    ("every 30m", "America/St_Johns", "2027-11-07 03:45"),
    ("0 */2 * * *", "Australia/Sydney", "2027-04-03 13:30"),
    ("daily 02:30", "Europe/Berlin", "2027-10-30 12:00"),  # repeated hour: first pass only
    ("@daily", "Europe/Berlin", "2027-10-29 00:00"),
    ("0 9 * * MON-FRI", "Europe/Berlin", "2027-10-29 00:00"),
    ("monthly 31st 08:00", "Europe/Berlin", "2027-01-15 00:00"),
    ("daily 09:00", "America/New_York", "2027-03-13 12:00"),
    ("every 30m", "America/New_York", "2027-03-14 06:15"),
    ("hourly", "America/New_York", "2027-03-14 05:30"),
    ("daily 01:30", "America/New_York", "2027-11-06 12:00"),
    ("monday 09:00", "America/New_York", "2027-11-06 12:00"),
    ("monthly 1st 00:00", "America/New_York", "2027-10-15 00:00"),
    ("30 4 1,15 * *", "America/New_York", "2027-10-15 00:00"),
    ("daily 09:00", "America/St_Johns", "2027-03-13 12:00"),
    ("every 30m", "America/St_Johns", "2027-03-14 04:45"),
    ("daily 01:30", "America/St_Johns", "2027-11-06 12:00"),
    ("weekends 10:00", "America/St_Johns", "2027-11-05 00:00"),
    ("daily 02:30", "Australia/Sydney", "2027-04-02 00:00"),
    ("daily 09:00", "Australia/Sydney", "2027-04-02 00:00"),
    ("every 30m", "Australia/Sydney", "2027-10-02 14:45"),
    ("weekdays 09:00", "Australia/Sydney", "2027-10-01 00:00"),
    ("monthly 31st 08:00", "Australia/Sydney", "2027-06-01 00:00"),
    ("@weekly", "Australia/Sydney", "2027-09-20 00:00"),
    ("daily 09:00", "Asia/Kolkata", "2027-01-01 00:00"),
    ("every 30m", "Asia/Kolkata", "2027-01-01 00:10"),
    ("hourly", "Asia/Kolkata", "2027-01-01 00:10"),
    ("every 2h", "Asia/Kolkata", "2027-01-01 00:10"),
    ("monthly 31st 23:59", "Asia/Kolkata", "2028-01-15 00:00"),
    ("every 30m", "Asia/Kathmandu", "2027-01-01 00:00"),
    ("daily 00:00", "Asia/Kathmandu", "2028-02-27 00:00"),
    ("0 0 29 2 *", "UTC", "2027-01-01 00:00"),
    ("monthly 29th 12:00", "UTC", "2028-01-01 00:00"),
    ("monthly 31st 08:00", "UTC", "2027-12-01 00:00"),
    ("*/15 9-17 * * 1-5", "UTC", "2027-06-04 17:00"),
    ("@yearly", "UTC", "2027-06-01 00:00"),
    ("weekdays 09:00", "UTC", "2027-12-30 00:00"),
    ("0 12 * JAN,JUL SUN", "UTC", "2027-03-27 12:00"),
    ("0 0 1 */3 *", "UTC", "2027-03-27 12:00"),
    ("every 1m", "UTC", "2027-12-31 23:58"),
    ("once 2028-02-29 10:00", "Europe/Berlin", "2027-01-01 00:00"),
    ("once 2027-01-31 10:00", "America/New_York", "2027-02-01 00:00"),  # past: no runs
]

# Where systemd's behaviour differs from our DST policy. systemd normalises wall
# times per day with mktime-like rules: a time in the spring-forward gap finds no
# match that day (skipped, "never" for a one-off). Our policy (docs/design.md,
# schedules.nextrun): a time in a gap runs at the end of the gap, so a daily job is
# never lost and `every 2h` runs at 03:00 when 02:00 does not exist. In the repeated
# fall-back hour both run each wall time once, at its first occurrence.
# Each row: schedule, zone, base, what systemd does, what we do (UTC "MM-DD HH:MM").
DIFFER = [
    (
        "daily 02:30", "Europe/Berlin", "2027-03-27 12:00",
        ["03-29 00:30", "03-30 00:30", "03-31 00:30", "04-01 00:30", "04-02 00:30"],
        ["03-28 01:00", "03-29 00:30", "03-30 00:30", "03-31 00:30", "04-01 00:30"],
    ),
    (
        "daily 02:00", "America/New_York", "2027-03-13 12:00",
        ["03-15 06:00", "03-16 06:00", "03-17 06:00", "03-18 06:00", "03-19 06:00"],
        ["03-14 07:00", "03-15 06:00", "03-16 06:00", "03-17 06:00", "03-18 06:00"],
    ),
    (
        "daily 02:30", "Australia/Sydney", "2027-10-02 00:00",
        ["10-03 15:30", "10-04 15:30", "10-05 15:30", "10-06 15:30", "10-07 15:30"],
        ["10-02 16:00", "10-03 15:30", "10-04 15:30", "10-05 15:30", "10-06 15:30"],
    ),
    ("once 2027-03-28 02:30", "Europe/Berlin", "2027-01-01 00:00", [], ["03-28 01:00"]),
    (
        "every 2h", "Europe/Berlin", "2027-03-27 21:30",
        ["03-27 23:00", "03-28 02:00", "03-28 04:00", "03-28 06:00", "03-28 08:00"],
        ["03-27 23:00", "03-28 01:00", "03-28 02:00", "03-28 04:00", "03-28 06:00"],
    ),
    (
        "0 */2 * * *", "Europe/Berlin", "2027-03-27 21:30",
        ["03-27 23:00", "03-28 02:00", "03-28 04:00", "03-28 06:00", "03-28 08:00"],
        ["03-27 23:00", "03-28 01:00", "03-28 02:00", "03-28 04:00", "03-28 06:00"],
    ),
]  # fmt: skip


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _short(times: list[datetime]) -> list[str]:
    return [time.astimezone(UTC).strftime("%m-%d %H:%M") for time in times]


@pytest.fixture(scope="module")
def systemd_results() -> dict[tuple[str, str, str], list[datetime]]:
    """systemd's elapses for every case, one systemd-analyze call per base time."""
    by_base: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text, zone, base in [*AGREE, *(row[:3] for row in DIFFER)]:
        by_base[str(base)].append((str(text), str(zone)))
    results = {}
    for base, cases in by_base.items():
        values = [to_oncalendar(parse_schedule(text), zone) for text, zone in cases]
        for (text, zone), elapses in zip(cases, systemd_next(_utc(base), values, ITERATIONS), strict=True):
            results[(text, zone, base)] = elapses
    return results


def test_case_table_is_broad_enough() -> None:
    assert len(AGREE) + len(DIFFER) >= 40
    zones = {zone for _, zone, *_ in [*AGREE, *DIFFER]}
    assert {"Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"} <= zones


@pytest.mark.parametrize(("text", "zone", "base"), AGREE)
def test_next_runs_match_systemd(
    systemd_results: dict[tuple[str, str, str], list[datetime]], text: str, zone: str, base: str
) -> None:
    ours = next_runs(parse_schedule(text), zone, _utc(base), ITERATIONS)
    # Compare in UTC: PEP 495 makes a time in a repeated hour unequal to any other zone's.
    assert [time.astimezone(UTC) for time in ours] == systemd_results[(text, zone, base)]


@pytest.mark.parametrize(("text", "zone", "base", "systemd", "expected"), DIFFER)
def test_dst_edges_follow_our_policy_where_systemd_differs(
    systemd_results: dict[tuple[str, str, str], list[datetime]],
    text: str,
    zone: str,
    base: str,
    systemd: list[str],
    expected: list[str],
) -> None:
    assert _short(systemd_results[(text, zone, base)]) == systemd
    assert _short(next_runs(parse_schedule(text), zone, _utc(base), ITERATIONS)) == expected


def test_every_rendered_calendar_runs_like_the_engine_in_systemd() -> None:
    base = _utc("2027-06-01 09:00")
    for zone in ("Europe/Berlin", "Asia/Kathmandu"):
        schedules = [parse_schedule(text) for text, *_ in RENDERED]
        values = [to_oncalendar(schedule, zone) for schedule in schedules]
        for schedule, elapses in zip(schedules, systemd_next(base, values, 4), strict=True):
            ours = next_runs(schedule, zone, base, 4)
            assert [t.astimezone(UTC) for t in ours] == elapses, schedule.text
