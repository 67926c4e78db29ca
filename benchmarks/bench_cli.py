"""Start-up and listing speed of the commands that do not run an agent.

Run: python benchmarks/bench_cli.py
The last rows install 50 of the tasks (the registry `schedule list` reads to flag missed runs
and entries out of date) and give them 5,000 runs in the history.

Prints the median wall and CPU time of each command as a whole process, beside a bare
`python -c pass`, and the ratios (BENCH_RUNS=N sets the number of runs). Targets (issue 2):
--help and preview within 6x of a bare interpreter start; `schedule list` of 1,000 tasks under 0.5 s
without its validation cache ("cold"; the task schema compiled by an earlier listing is kept, as
bytecode is). "first" times a listing without that either: once after an install or upgrade.
`python -m bassi_ci` imports the bassi_ci of the current folder first: run this from the checkout
(or a copy of the version) you mean to time.
"""

from __future__ import annotations

import json
import os
import resource
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
from bassi_ci.scheduling.base import scheduled_command

RUNS = int(os.environ.get("BENCH_RUNS", "15"))  # more on a busy machine: timings are noisy


def timed(argv: list[str], env: dict[str, str], before: Callable[[], None] = lambda: None) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the process, in seconds.

    CPU time barely moves when other jobs share the machine; wall time does, a lot.
    """
    walls, cpus = [], []
    for _ in range(RUNS):
        before()
        used = _children_cpu()
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - used)
    return statistics.median(walls), statistics.median(cpus)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cache_files(home: Path) -> list[Path]:
    """The validation cache of the tasks folder: BASSI_HOME/cache/tasks-<hash of the folder>.json
    (bassi_ci.home.folder_state_path), never a file in the tasks folder itself."""
    return sorted((home / "cache").glob("tasks-*.json"))


def drop_cache(home: Path) -> None:
    for path in cache_files(home):
        path.unlink()


def compiled_schema_files(home: Path) -> list[Path]:
    """The task schema as fastjsonschema compiled it (bassi_ci.tasks.schema.compiled_schema_path)
    and its bytecode: made by the first listing after an install or upgrade, then reused."""
    cache = home / "cache"
    return sorted([*cache.glob("task-schema-*.py"), *cache.glob("__pycache__/task-schema-*.pyc")])


def drop_all_caches(home: Path) -> None:
    """A first listing: no validation cache and no compiled schema either."""
    for path in [*cache_files(home), *compiled_schema_files(home)]:
        path.unlink()


def check_cold_is_cold(bassi: list[str], env: dict[str, str], home: Path) -> None:
    """A listing must write the caches drop_all_caches removes; else "cold" would silently time a
    warm run. Two cold listings: the compiled schema's bytecode appears when it is loaded again."""
    for _ in range(2):
        drop_cache(home)
        subprocess.run([*bassi, "schedule", "list"], env=env, check=True, stdout=subprocess.DEVNULL)
    if not cache_files(home):
        sys.exit(f"bench_cli: no validation cache appeared in {home / 'cache'}; fix cache_files()")
    if len(compiled_schema_files(home)) != 2:
        sys.exit(f"bench_cli: no compiled task schema (and bytecode) in {home / 'cache'}; fix compiled_schema_files()")
    drop_all_caches(home)
    if cache_files(home) or compiled_schema_files(home):
        sys.exit("bench_cli: drop_all_caches() left a cache in place")


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


def entry_of(root: Path, task_id: str) -> dict[str, object]:
    """What an install records of the entry (so `schedule list` compares each with its file, the
    drift check): the task as make_tasks wrote it, installed from `root`."""
    index = int(task_id.split("-")[1])
    task = yaml.safe_load((root / "tasks" / f"{task_id}.yaml").read_text())
    workdir = root.resolve()
    return {
        "schedule": task["schedule"],
        "timezone": ["UTC", "Europe/Berlin", "America/New_York"][index % 3],
        "workdir": str(workdir),
        "command": list(scheduled_command(task_id, workdir, root / "env")),
        "enabled": True,
    }


def install_some(root: Path, count: int, runs: int) -> None:
    """Record the first `count` tasks as installed (since 14 days) with `runs` runs among them,
    so the missed-run check of `schedule list` is timed too."""
    now = datetime.now(UTC)
    since = (now - timedelta(days=14)).isoformat()
    ids = [f"task-{index:04d}" for index in range(count)]
    files = {task_id: str((root / "tasks" / f"{task_id}.yaml").resolve()) for task_id in ids}
    records = [
        {"task_id": i, "task_file": files[i], "backend": "cron", "installed_at": since, "entry": entry_of(root, i)}
        for i in ids
    ]
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
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as user_home:
        # A throw-away HOME too: nothing the commands write may land in the real ~/.bassi.
        env = {**os.environ, "BASSI_HOME": home, "HOME": user_home}
        # An installed bassi has its bytecode; without it each run compiles ~40 modules (~60 ms),
        # and the compiled task schema (kept in BASSI_HOME/cache) ~30 ms more.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        make_tasks(Path(home), 1000)
        check_cold_is_cold(bassi, env, Path(home))
        bare = timed([sys.executable, "-c", "pass"], env)
        rows = [
            ("python -c pass", bare),
            ("bassi --help", timed([*bassi, "--help"], env)),
            (
                "bassi schedule preview 'monday 09:00' --count 10",
                timed([*bassi, "schedule", "preview", "monday 09:00", "--tz", "Europe/Berlin", "--count", "10"], env),
            ),
            (
                "bassi schedule list (1,000 tasks, first: no cache at all)",
                timed([*bassi, "schedule", "list"], env, before=lambda: drop_all_caches(Path(home))),
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
            ("bassi schedule list --json (same)", timed([*bassi, "schedule", "list", "--json"], env)),
        ]
    print(f"median of {RUNS} runs, whole process: wall time (ratio to a bare start), CPU time")
    for name, (wall, cpu) in rows:
        ratios = f"{wall / bare[0]:5.1f}x  cpu {cpu * 1000:7.1f} ms {cpu / bare[1]:5.1f}x"
        print(f"{name:<62} {wall * 1000:7.1f} ms {ratios}")


if __name__ == "__main__":
    main()
