"""Helpers of the schedule tests: sample schedules with their rendered forms, and
`systemd-analyze calendar` as an independent oracle for OnCalendar values."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
_ELAPSE = re.compile(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC$")


def systemd_next(base: datetime, values: list[str], iterations: int) -> list[list[datetime]]:
    """For each OnCalendar value, the next `iterations` elapses strictly after `base`.

    One process for all values; TZ=UTC makes systemd print every elapse in UTC.
    """
    assert SYSTEMD_ANALYZE is not None
    command = [
        SYSTEMD_ANALYZE,
        "calendar",
        f"--base-time={base.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
        f"--iterations={iterations}",
        *values,
    ]
    env = {**os.environ, "TZ": "UTC", "SYSTEMD_COLORS": "0", "LC_ALL": "C"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, f"{command} failed: {done.stderr}"
    results: list[list[datetime]] = []
    for line in done.stdout.splitlines():
        if line.strip().startswith("Normalized form:"):
            results.append([])
        elif match := _ELAPSE.search(line.strip()):
            results[-1].append(datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC))
    assert len(results) == len(values), done.stdout
    return results


RENDERED = [
    # schedule, cron, OnCalendar (in Europe/Berlin)
    ("daily 14:30", "30 14 * * *", "*-*-* 14:30:00"),
    ("monday 09:00", "0 9 * * 1", "Mon *-*-* 09:00:00"),
    ("sunday 07:05", "5 7 * * 0", "Sun *-*-* 07:05:00"),
    ("weekdays 09:00", "0 9 * * 1-5", "Mon..Fri *-*-* 09:00:00"),
    ("weekends 10:00", "0 10 * * 0,6", "Sat,Sun *-*-* 10:00:00"),
    ("monthly 1st 08:00", "0 8 1 * *", "*-*-01 08:00:00"),
    ("monthly 31st 08:00", "0 8 31 * *", "*-*-31 08:00:00"),
    ("every 1m", "* * * * *", "*-*-* *:*:00"),
    ("every 15m", "*/15 * * * *", "*-*-* *:00/15:00"),
    ("every 30m", "*/30 * * * *", "*-*-* *:00/30:00"),
    ("every 1h", "0 * * * *", "*-*-* *:00:00"),
    ("hourly", "0 * * * *", "*-*-* *:00:00"),
    ("every 2h", "0 */2 * * *", "*-*-* 00/2:00:00"),
    ("every 24h", "0 0 * * *", "*-*-* 00:00:00"),
    ("@daily", "0 0 * * *", "*-*-* 00:00:00"),
    ("@weekly", "0 0 * * 0", "Sun *-*-* 00:00:00"),
    ("@yearly", "0 0 1 1 *", "*-01-01 00:00:00"),
    ("0 9 * * MON-FRI", "0 9 * * MON-FRI", "Mon..Fri *-*-* 09:00:00"),
    ("*/15 9-17 * * 1-5", "*/15 9-17 * * 1-5", "Mon..Fri *-*-* 09..17:00/15:00"),
    ("0 0 29 2 *", "0 0 29 2 *", "*-02-29 00:00:00"),
    ("5 4 * * 7", "5 4 * * 7", "Sun *-*-* 04:05:00"),
    ("0 12 1,15 JAN,JUL *", "0 12 1,15 JAN,JUL *", "*-01/6-01,15 12:00:00"),
    ("0 0 1 */3 *", "0 0 1 */3 *", "*-01/3-01 00:00:00"),
]
