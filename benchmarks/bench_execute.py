"""How much `bassi execute` costs on top of the model: process start-up, memory, loop overhead.

    python benchmarks/bench_execute.py [--repeat 5] [--turns 50]

1. Whole-process wall time and peak RSS (os.wait4 rusage of the child) of
   `bassi execute --prompt ... --ci` for a one-turn task against the fake Messages API
   running as a separate process, beside `python -c "import anthropic"`.
2. The loop's own cost per turn: one run of `--turns` scripted turns (each an editor
   `view` of a small file, then a final text), executed in this process through the same
   executor `bassi execute` uses (transcript and history included). The fake server
   measures the time it spends handling each request; the figure is
   (wall time - server time) / turns, and also (wall time - API time) / turns, which
   leaves out the SDK and HTTP as well.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SERVER = """
import sys, threading, time
sys.path.insert(0, {root!r})
import tests.fakeapi as fake
stats_path = {stats!r}
original = fake._Handler.do_POST
total = [0.0]
lock = threading.Lock()
def timed(self):
    started = time.perf_counter()
    try:
        original(self)
    finally:
        with lock:
            total[0] += time.perf_counter() - started
            with open(stats_path, "w") as handle:
                handle.write(repr(total[0]))
fake._Handler.do_POST = timed
fake._Handler.disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms per response
sys.exit(fake.main(sys.argv[1:]))
"""


def measure(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{command} exited {child.returncode}")
    return wall, usage.ru_maxrss / 1024


def server_seconds(path: Path) -> float:
    return float(path.read_text()) if path.exists() and path.read_text() else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--turns", type=int, default=50)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bassi-bench-"))
    (work / "notes.txt").write_text("a small file the editor views on every turn\n" * 20)
    stats = work / "server-seconds"
    script = [{"type": "text", "text": "ok"} for _ in range(args.repeat + 1)]
    view = ["str_replace_based_edit_tool", {"command": "view", "path": "notes.txt"}]
    script += [{"type": "tool_use", "calls": [view]} for _ in range(args.turns - 1)]
    script.append({"type": "text", "text": "done"})
    (work / "script.json").write_text(json.dumps(script))
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT), stats=str(stats)), "--script", str(work / "script.json")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        env = {
            **os.environ,
            "ANTHROPIC_BASE_URL": base_url,
            "ANTHROPIC_API_KEY": "sk-ant-bench",
            "BASSI_HOME": str(work / "home"),
            "PYTHONPATH": str(ROOT),
        }
        run_processes(args.repeat, env, work)
        run_loop(args.turns, env, work, stats)
    finally:
        server.terminate()
        server.wait()


def run_processes(repeat: int, env: dict[str, str], work: Path) -> None:
    execute = [sys.executable, "-m", "bassi_ci", "execute", "--prompt", "say ok", "--ci"]
    importing = [sys.executable, "-c", "import anthropic"]
    helping = [sys.executable, "-m", "bassi_ci", "--help"]
    rows = []
    for label, command in (
        ("python -c 'import anthropic'", importing),
        ("bassi --help", helping),
        ("bassi execute --ci (1 turn)", execute),
    ):
        samples = [measure(command, env, work) for _ in range(repeat)]
        rows.append((label, statistics.median(s[0] for s in samples), max(s[1] for s in samples)))
    print(f"whole process, median of {repeat} runs (fake API as a separate process):")
    for label, wall, rss in rows:
        print(f"  {label:<32} {wall * 1000:7.0f} ms   peak RSS {rss:6.1f} MiB")


def run_loop(turns: int, env: dict[str, str], work: Path, stats: Path) -> None:
    os.environ.update(env)
    os.chdir(work)
    from bassi_ci.runs.executor import RunPlan, execute_run
    from bassi_ci.tasks.model import Limits, Task

    def plan(prompt: str) -> RunPlan:
        task = Task(id="bench", name="bench", prompt=prompt, limits=Limits(max_turns=turns + 1))
        return RunPlan(task=task, workdir=work)

    execute_run(plan("warm up"))  # imports the SDK and fills caches, as the first turn of any run would
    server_before = server_seconds(stats)
    started = time.perf_counter()
    report = execute_run(plan("view notes.txt repeatedly"))
    wall = time.perf_counter() - started
    server = server_seconds(stats) - server_before
    assert report.status == "success" and report.num_turns == turns, (report.status, report.num_turns)
    print(f"agent loop, {turns} turns in one run (in process, transcript + history included):")
    print(f"  wall time                        {wall * 1000:7.0f} ms  ({wall / turns * 1000:.2f} ms/turn)")
    print(f"  time in the fake server          {server * 1000:7.0f} ms")
    print(f"  loop + SDK + HTTP per turn       {(wall - server) / turns * 1000:7.2f} ms  (wall - server)")
    api = report.duration_api_ms / 1000
    print(f"  bassi's own loop per turn        {(wall - api) / turns * 1000:7.2f} ms  (wall - API time)")


if __name__ == "__main__":
    main()
