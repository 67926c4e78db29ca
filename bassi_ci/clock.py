"""The one clock: everything that needs "now" reads it here, so tests can pin it."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from bassi_ci.errors import ScheduleError, UsageError


def now() -> datetime:
    """The current time, timezone-aware in UTC.

    `BASSI_NOW` (ISO 8601 with offset) pins it, for tests and reproducible previews.
    """
    pinned = os.environ.get("BASSI_NOW")
    if pinned:
        try:
            return datetime.fromisoformat(pinned).astimezone(UTC)
        except ValueError:
            example = "2027-03-10T09:00:00+00:00"
            raise UsageError(f"BASSI_NOW={pinned!r}: expected an ISO 8601 time such as {example}") from None
    return datetime.now(UTC)


def utc_iso(moment: datetime) -> str:
    """The one timestamp format of history rows and run logs: UTC, milliseconds, explicit offset
    (sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def local_zone_name() -> str:
    """The machine's IANA zone name, captured when a task is created without one.

    Read from TZ (a name, or a path into the tz database) and then /etc/localtime;
    anything that is not a valid IANA name falls back to UTC.
    """
    # Lazy: `bassi history` loads clock (via runs.history) but never schedules, ~10 ms there.
    from bassi_ci.schedules.zones import validate_timezone

    for candidate in (_zone_from_tz(os.environ.get("TZ", "")), _zone_from_localtime()):
        if not candidate:
            continue
        try:
            validate_timezone(candidate)
        except ScheduleError:
            continue
        return candidate
    return "UTC"


def _zone_from_tz(value: str) -> str:
    value = value.lstrip(":")
    marker = "zoneinfo/"
    return value.split(marker, 1)[1] if marker in value else value


def _zone_from_localtime() -> str:
    try:
        link = os.readlink("/etc/localtime")
    except OSError:
        link = ""
    marker = "zoneinfo/"
    if marker in link:
        return link.split(marker, 1)[1]
    try:
        with open("/etc/timezone", encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return ""
