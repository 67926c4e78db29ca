"""Run `systemd-analyze calendar` as an independent oracle for OnCalendar values."""

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
