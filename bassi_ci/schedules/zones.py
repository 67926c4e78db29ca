"""Time zone names: only IANA names, checked before anything is stored or rendered."""

from __future__ import annotations

import difflib
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bassi_ci.errors import ScheduleError

# IANA names are ASCII words joined by "/"; anything else (paths, "..", blanks) is
# refused before zoneinfo looks at the file system.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*", re.ASCII)


# Files in the tz database that are not zones a task should store: aliases of the
# machine's zone (the zone must be explicit) and leap-second or POSIX variants.
_NOT_ZONES = {"localtime", "posixrules", "factory"}
_NOT_ZONE_PREFIXES = ("right/", "posix/")


def validate_timezone(tz: str) -> ZoneInfo:
    """The zone named `tz`, or a ScheduleError that suggests a valid name."""
    if not isinstance(tz, str) or not _ZONE_NAME.fullmatch(tz):
        raise ScheduleError(_unknown(tz))
    if tz.lower() in _NOT_ZONES or tz.lower().startswith(_NOT_ZONE_PREFIXES):
        raise ScheduleError(f"{tz!r} is not an IANA zone name to store; use one such as Europe/Berlin or UTC")
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(_unknown(tz)) from None


def _unknown(tz: object) -> str:
    hint = _closest_zone(tz) if isinstance(tz, str) and tz else None
    guess = f" (did you mean {hint}?)" if hint else ""
    return f"unknown time zone {tz!r}{guess}; use an IANA name such as Europe/Berlin or UTC"


def _closest_zone(tz: str) -> str | None:
    # Only on the error path: listing every zone reads the whole tz database.
    zones = {name.lower(): name for name in available_timezones()}
    if tz.lower() in zones:
        return zones[tz.lower()]
    close = difflib.get_close_matches(tz.lower(), list(zones), n=1, cutoff=0.75)
    return zones[close[0]] if close else None
