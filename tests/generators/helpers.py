"""Task files in a temporary repository (also in a custom tasks folder with commit settings),
`bassi ci …` run through the real entry point, and what the end-to-end runs of generated jobs
share (a `bassi` install command for the job, git, a search for leaked secrets)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.cli import run_cli

GITLAB = Path(".gitlab/bassi.gitlab-ci.yml")
NASTY = "${{ secrets.STOLEN }} 'single' \"double\" `tick` $(touch /tmp/pwned) #not-a-comment: {{x}} [y] & * ! | > %"


def write_task(repo: Path, filename: str, **fields: Any) -> Path:
    path = repo / ".bassi" / "tasks" / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(fields, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def generate(repo: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli("ci", "generate", "--tasks-dir", str(repo / ".bassi" / "tasks"), "--out", str(repo), *extra)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def custom_tasks(repo: Path, **commit: Any) -> Path:
    """A task with commit settings in a non-default tasks folder."""
    folder = repo / "ops" / "agent tasks"
    folder.mkdir(parents=True)
    fields: dict[str, Any] = {"id": "weekly", "prompt": "p", "schedule": "monday 09:00", "timezone": "UTC"}
    if commit:
        fields["commit"] = commit
    (folder / "weekly.yaml").write_text(yaml.safe_dump(fields))
    return folder


# --------------------------------------------------------------------------- end to end in a runner

ROOT = Path(__file__).resolve().parents[2]


def install_shim(bin_dir: Path) -> str:
    """An install command for a generated GitLab job that puts this checkout's `bassi` into `bin_dir`
    and `bin_dir` on PATH for the rest of the script (GitLab runs all its lines in one shell; no
    build, no download; the default install command is `pip install bassi-ci`). Jenkins runs each
    `sh` step in a shell of its own: see test_jenkins_replay.py for its install."""
    shim = f'#!/bin/sh\\nexec {sys.executable} -m bassi_ci "$@"\\n'
    command = f"mkdir -p {bin_dir} && printf '{shim}' > {bin_dir}/bassi && chmod +x {bin_dir}/bassi"
    return command + f" && export PATH={bin_dir}:$PATH PYTHONPATH={ROOT}"


def run_git(repo: Path, *args: str) -> str:
    """git in `repo` as a test user; never prompts (there is no terminal in a runner either)."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    proc = subprocess.run(["git", *identity, *args], cwd=repo, capture_output=True, text=True, check=True, env=full_env)
    return proc.stdout.strip()


def files_holding(folder: Path, *needles: str) -> list[str]:
    """Every file below `folder` (links not followed) whose bytes contain one of `needles`."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(needle.encode() in data for needle in needles):
                found.append(str(path))
    return found
