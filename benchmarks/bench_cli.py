"""Start-up and listing speed of the commands that do not run an agent.

Run: python benchmarks/bench_cli.py
Prints the median wall time of each command as a whole process, beside a bare
`python -c pass`, and the ratio. Targets (issue 2): --help and preview within 6x of
a bare interpreter start; `schedule list` of 1,000 tasks under 0.5 s.

The last rows install 50 of the tasks (the registry `schedule list` reads to flag missed
runs) and give them 5,000 runs in the history, so the missed-run check is timed too.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from bassi_ci.runs.history import connect

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


def install_some(root: Path, count: int, runs: int) -> None:
    """Record the first `count` tasks as installed (since 14 days) with `runs` runs among them."""
    now = datetime.now(UTC)
    since = (now - timedelta(days=14)).isoformat()
    ids = [f"task-{index:04d}" for index in range(count)]
    files = {task_id: str((root / "tasks" / f"{task_id}.yaml").resolve()) for task_id in ids}
    records = [{"task_id": i, "task_file": files[i], "backend": "cron", "installed_at": since} for i in ids]
    (root / "scheduled.json").write_text(json.dumps({"installations": records}))
    rows = []
    for number in range(runs):
        task_id = ids[number % count]
        started = (now - timedelta(minutes=7 * number)).astimezone(UTC).isoformat(timespec="milliseconds")
        rows.append((f"run-{number}", task_id, files[task_id], started, "success"))
    with connect(root / "state.db") as db:
        db.executemany("INSERT INTO runs (run_id, task_id, task_key, started_at, status) VALUES (?, ?, ?, ?, ?)", rows)


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
        install_some(Path(home), 50, 5000)
        rows += [
            ("bassi schedule list (1,000 tasks, 50 installed, 5,000 runs)", timed([*bassi, "schedule", "list"], env)),
            (
                "bassi schedule list --json (same)",
                timed([*bassi, "schedule", "list", "--json"], env),
            ),
        ]
    print(f"median of {RUNS} runs, whole process")
    for name, seconds in rows:
        print(f"{name:<62} {seconds * 1000:8.1f} ms  {seconds / bare:5.1f}x bare")


if __name__ == "__main__":
    main()
