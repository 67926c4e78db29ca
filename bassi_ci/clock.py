"""The one clock: everything that needs "now" reads it here, so tests can pin it."""

from __future__ import annotations

import os
from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware in UTC.

    `BASSI_NOW` (ISO 8601 with offset) pins it, for tests and reproducible previews.
    """
    pinned = os.environ.get("BASSI_NOW")
    if pinned:
        return datetime.fromisoformat(pinned).astimezone(UTC)
    return datetime.now(UTC)


def local_zone_name() -> str:
    """The machine's IANA zone name, captured when a task is created without one."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if (tz and "/" in tz) or tz == "UTC":
        return tz
    try:
        link = os.readlink("/etc/localtime")
    except OSError:
        link = ""
    marker = "zoneinfo/"
    if marker in link:
        return link.split(marker, 1)[1]
    try:
        with open("/etc/timezone", encoding="utf-8") as handle:
            name = handle.read().strip()
            if name:
                return name
    except OSError:
        pass
    return "UTC"
