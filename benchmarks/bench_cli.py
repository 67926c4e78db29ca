"""Start-up and listing speed of the commands that do not run an agent.

Run: python benchmarks/bench_cli.py
Prints the median wall time of each command as a whole process, beside a bare
`python -c pass`, and the ratio. Targets (issue 2): --help and preview within 6x of
a bare interpreter start; `schedule list` of 1,000 tasks under 0.5 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

RUNS = 15


def timed(argv: list[str], env: dict[str, str], before: Callable[[], None] = lambda: None) -> float:
    samples = []
    for _ in range(RUNS):
        before()
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def drop_cache(home: Path) -> None:
    (home / "tasks" / ".validated-cache.json").unlink(missing_ok=True)


def make_tasks(root: Path, count: int) -> None:
    tasks = root / "tasks"
    tasks.mkdir(parents=True)
    schedules = ["daily 09:00", "monday 08:30", "every 30m", "monthly 1st 07:00", "0 */2 * * 1-5"]
    for index in range(count):
        record = {
            "id": f"task-{index:04d}",
            "name": f"Task {index}",
            "prompt": f"Do job number {index}",
            "schedule": schedules[index % len(schedules)],
            "timezone": ["UTC", "Europe/Berlin", "America/New_York"][index % 3],
            "enabled": True,
            "model": "claude-sonnet-4-5",
            "limits": {"timeout": 1800, "max_turns": 20},
            "tools": ["bash", "str_replace_based_edit_tool"],
            "retries": 2,
        }
        (tasks / f"task-{index:04d}.yaml").write_text(yaml.safe_dump(record, sort_keys=False))


def main() -> None:
    bassi = [sys.executable, "-m", "bassi_ci"]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "BASSI_HOME": home}
        make_tasks(Path(home), 1000)
        bare = timed([sys.executable, "-c", "pass"], env)
        rows = [
            ("python -c pass", bare),
            ("bassi --help", timed([*bassi, "--help"], env)),
            (
                "bassi schedule preview 'monday 09:00' --count 10",
                timed([*bassi, "schedule", "preview", "monday 09:00", "--tz", "Europe/Berlin", "--count", "10"], env),
            ),
            (
                "bassi schedule list (1,000 tasks, cold: no validation cache)",
                timed([*bassi, "schedule", "list"], env, before=lambda: drop_cache(Path(home))),
            ),
            ("bassi schedule list (1,000 tasks)", timed([*bassi, "schedule", "list"], env)),
            ("bassi schedule list --json (1,000 tasks)", timed([*bassi, "schedule", "list", "--json"], env)),
        ]
    print(f"median of {RUNS} runs, whole process")
    for name, seconds in rows:
        print(f"{name:<62} {seconds * 1000:8.1f} ms  {seconds / bare:5.1f}x bare")


if __name__ == "__main__":
    main()
