"""Cost of the CI path: generating pipelines, installing the package, and a comparison.

Run: python benchmarks/bench_generate.py
Prints:
  * `bassi ci generate` for 1,000 tasks as a whole process (github, gitlab, jenkins; first
    run writing everything, then an unchanged `--check`);
  * time and size of installing this package into a fresh venv with pip and with uv
    (dependencies come from the registry; the uv and pip caches are warm after the first try);
  * time and size of `npm install @anthropic-ai/claude-code` in a temporary folder, for
    comparison (skipped with a note when npm is missing or fails).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TASKS = 1000
RUNS = 3


def make_tasks(root: Path, count: int) -> Path:
    tasks = root / ".bassi" / "tasks"
    tasks.mkdir(parents=True)
    schedules = ["daily 09:00", "monday 08:30", "every 30m", "monthly 1st 07:00", "0 */2 * * 1-5", "hourly"]
    for index in range(count):
        record = {
            "id": f"task-{index:04d}",
            "name": f"Task {index}",
            "prompt": f"Do thing {index}",
            "schedule": schedules[index % len(schedules)],
            "timezone": "Europe/Berlin",
        }
        if index % 7 == 0:
            record["commit"] = {"paths": ["reports/*.md"]}
        (tasks / f"task-{index:04d}.yaml").write_text(yaml.safe_dump(record))
    return tasks


def timed(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0,):
        print(f"    ! {' '.join(argv[:4])}… exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
    return elapsed, proc.returncode


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def bench_generate(tmp: Path) -> None:
    print(f"== bassi ci generate, {TASKS} tasks, whole process (median of {RUNS})")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BASSI_HOME": str(tmp / "home")}
    for target in ("github", "gitlab", "jenkins"):
        repo = tmp / f"repo-{target}"
        make_tasks(repo, TASKS)
        argv = [
            sys.executable,
            "-m",
            "bassi_ci",
            "ci",
            "generate",
            "--target",
            target,
            "--out",
            str(repo),
            "--tasks-dir",
            str(repo / ".bassi" / "tasks"),
        ]
        first, _ = timed(argv, env=env)
        checks = [timed([*argv, "--check"], env=env)[0] for _ in range(RUNS)]
        files = [p for p in repo.rglob("*") if p.is_file() and ".bassi" not in p.parts]
        print(
            f"  {target:8} write {first:6.2f} s   --check {statistics.median(checks):6.2f} s   "
            f"{len(files)} file(s), {mib(sum(p.stat().st_size for p in files))}"
        )


def bench_install(tmp: Path) -> None:
    print("== installing bassi-ci (this checkout) into a fresh venv")
    source = tmp / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", "*_cache", "__pycache__", ".hypothesis", ".benchmarks", "node_modules", ".gitlab-ci-local"
        ),
    )
    if not (source / "README.md").exists():
        (source / "README.md").write_text("# bassi-ci\n")
    for tool in ("pip", "uv"):
        if tool == "uv" and shutil.which("uv") is None:
            print("  uv: not installed, skipped")
            continue
        for attempt in ("cold", "warm"):
            venv = tmp / f"venv-{tool}-{attempt}"
            cache = tmp / f"cache-{tool}"
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            if tool == "pip":
                argv = [
                    str(venv / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--cache-dir",
                    str(cache),
                    str(source),
                ]
            else:
                argv = [
                    "uv",
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    str(venv / "bin" / "python"),
                    "--cache-dir",
                    str(cache),
                    str(source),
                ]
            _, code = timed(argv)
            elapsed = time.perf_counter() - start
            status = "" if code == 0 else "  (FAILED)"
            print(f"  {tool:4} {attempt} cache: {elapsed:6.1f} s, venv {mib(folder_size(venv))}{status}")


def bench_npm(tmp: Path) -> None:
    print("== npm install @anthropic-ai/claude-code (comparison)")
    if shutil.which("npm") is None:
        print("  npm not installed, skipped")
        return
    folder = tmp / "npm"
    folder.mkdir()
    elapsed, code = timed(
        ["npm", "install", "--no-audit", "--no-fund", "--cache", str(tmp / "npm-cache"), "@anthropic-ai/claude-code"],
        cwd=folder,
    )
    if code != 0:
        print("  npm install failed, skipped")
        return
    print(f"  npm  cold cache: {elapsed:6.1f} s, node_modules {mib(folder_size(folder / 'node_modules'))}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bassi-bench-") as name:
        tmp = Path(name)
        bench_generate(tmp)
        bench_install(tmp)
        bench_npm(tmp)


if __name__ == "__main__":
    main()
