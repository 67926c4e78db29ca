"""Time zone names: only IANA names, checked before anything is stored or rendered."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
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
    hint = _zone_hint(tz) if isinstance(tz, str) and tz.strip() else None
    return f"unknown time zone {tz!r}; {hint or 'use an IANA name such as Europe/Berlin or UTC'}"


# Abbreviations people type that are not zone names (CET, EST, MST and a few others are).
_ABBREVIATIONS = {
    "cest": "Europe/Berlin, Europe/Paris or another Central European city",
    "bst": "Europe/London",
    "ist": "Asia/Kolkata (India), Europe/Dublin (Ireland) or Asia/Jerusalem (Israel)",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "mdt": "America/Denver",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "edt": "America/New_York",
    "eest": "Europe/Athens, Europe/Helsinki or another Eastern European city",
    "aest": "Australia/Sydney or Australia/Brisbane",
    "aedt": "Australia/Sydney",
    "jst": "Asia/Tokyo",
}
_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+-])\s*([0-9]{1,2})(?::?([0-9]{2}))?", re.ASCII | re.IGNORECASE)


def _zone_hint(tz: str) -> str | None:
    """The zone `tz` most likely means, said as a fix; only on the error path (it lists every zone)."""

    text = tz.strip()
    if offset := _OFFSET.fullmatch(text):
        return _offset_hint(text, offset.group(1), int(offset.group(2)), int(offset.group(3) or 0))
    if text.lower() in _ABBREVIATIONS:
        return (
            f"{text} is an abbreviation, not a zone name; use {_ABBREVIATIONS[text.lower()]}"
            " (a city's zone switches between summer and winter time by itself)"
        )
    zones = {name.lower(): name for name in available_timezones()}
    if text.lower() in zones:
        return f"zone names are case-sensitive: use {zones[text.lower()]}"
    cities = _cities(zones.values())
    city = text.lower().replace(" ", "_")
    if city in cities:
        return f"use the full IANA name {cities[city]}"
    close = difflib.get_close_matches(text.lower(), list(zones), n=1, cutoff=0.75)
    if close:
        return f"did you mean {zones[close[0]]}?"
    close = difflib.get_close_matches(city, list(cities), n=1, cutoff=0.8)
    if close:
        return f"did you mean {cities[close[0]]}?"
    return None


def _cities(names: Iterable[str]) -> dict[str, str]:
    """The last part of each Area/City name, lower-cased, to its zone; the longest name wins
    (America/Argentina/Buenos_Aires over the older America/Buenos_Aires)."""
    cities: dict[str, str] = {}
    for name in sorted(names, key=lambda name: (name.count("/"), name)):
        if "/" in name and not name.startswith("Etc/"):
            cities[name.rsplit("/", 1)[1].lower()] = name
    return cities


def _offset_hint(text: str, sign: str, hours: int, minutes: int) -> str:
    if hours == 0 and minutes == 0:
        return "use UTC"
    said = f"UTC{sign}{hours:02d}:{minutes:02d}"
    if hours > (14 if sign == "+" else 12):
        return f"{said} is not an offset any place uses (they run from UTC-12:00 to UTC+14:00)"
    if minutes:
        return (
            f"there is no zone name for a fixed offset of {said}; use the zone of a place with"
            " that offset, e.g. Asia/Kolkata for UTC+05:30"
        )
    name = f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    ahead = "ahead of" if sign == "+" else "behind"
    return (
        f"for a fixed offset of {said} use {name} (the Etc/GMT names count the other way round:"
        f" {name} is {hours} hour{'s' if hours != 1 else ''} {ahead} UTC); a city's zone, such as"
        " Europe/Berlin, also follows summer time"
    )
