"""Time zone names: only IANA names, checked before anything is stored or rendered."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bassi_ci.errors import ScheduleError

# IANA names are ASCII words joined by "/"; anything else (paths, "..", blanks) is
# refused before zoneinfo looks at the file system.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*", re.ASCII)


def validate_timezone(tz: str) -> ZoneInfo:
    """The zone named `tz`, or a ScheduleError that suggests a valid name."""
    if not isinstance(tz, str) or not _ZONE_NAME.fullmatch(tz):
        raise ScheduleError(_unknown(tz))
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
    import difflib
    from zoneinfo import available_timezones

    zones = {name.lower(): name for name in available_timezones()}
    if tz.lower() in zones:
        return zones[tz.lower()]
    close = difflib.get_close_matches(tz.lower(), list(zones), n=1, cutoff=0.75)
    return zones[close[0]] if close else None
