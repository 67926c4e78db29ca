"""Shared by the commit-back and action tests: real git repositories with a bare remote,
and a recording `git` that shows which process saw the push credential."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def git(repo: Path, *args: str) -> str:
    env_args = ["-c", "user.name=Someone", "-c", "user.email=someone@example.com", "-c", "init.defaultBranch=main"]
    proc = subprocess.run(["git", *env_args, *args], cwd=repo, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def clone(remote: Path, where: Path) -> Path:
    git(remote.parent, "clone", "-q", str(remote), str(where))
    return where


def remote_log(remote: Path) -> list[str]:
    return git(remote, "log", "--format=%s|%an|%ae", "main").splitlines()


def remote_files(remote: Path) -> list[str]:
    return git(remote, "ls-tree", "-r", "--name-only", "main").splitlines()


TOKEN = "ghs_" + "PushT0kenOfTheWorkflow" * 2
HEADER = "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()


def git_recorder(tmp_path: Path) -> tuple[Path, Path]:
    """A `git` in front of the real one that logs, per call, its subcommand, the GIT_CONFIG_* variables
    it was given and the extraheader git itself then reads; returns (its folder, the log)."""
    real = shutil.which("git")
    assert real is not None
    bin_dir = tmp_path / "recorder-bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "git-calls.log"
    script = (
        "#!/bin/sh\n"
        "sub=''\n"
        "skip=''\n"
        'for a in "$@"; do\n'
        "  if [ -n \"$skip\" ]; then skip=''; continue; fi\n"
        '  case "$a" in -c) skip=1;; -*) ;; *) sub=$a; break;; esac\n'
        "done\n"
        f"{{ echo \"== $sub\"; env | grep '^GIT_CONFIG_' | sort; "
        f"echo \"git reads: $('{real}' config --get-all http.https://github.com/.extraheader)\"; }} >> '{log}'\n"
        f"exec '{real}' \"$@\"\n"
    )
    (bin_dir / "git").write_text(script)
    (bin_dir / "git").chmod(0o755)
    return bin_dir, log


def recorded_calls(log: Path) -> list[tuple[str, list[str]]]:
    """(subcommand, its GIT_CONFIG_*/`git reads` lines) per recorded call."""
    calls: list[tuple[str, list[str]]] = []
    for line in log.read_text().splitlines():
        if line.startswith("== "):
            calls.append((line[3:], []))
        elif calls:
            calls[-1][1].append(line)
    return calls


def assert_no_credential_in_config(repo: Path) -> None:
    config = (repo / ".git" / "config").read_text()
    encoded = HEADER.removeprefix("AUTHORIZATION: basic ")
    for needle in (TOKEN, encoded, "extraheader", "AUTHORIZATION"):
        assert needle not in config, needle
    # Nor anywhere git looks (global, system): the credential lived in the push's environment only.
    listing = subprocess.run(
        ["git", "config", "--list", "--show-origin"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("GIT_CONFIG_")},
    ).stdout
    assert TOKEN not in listing and encoded not in listing and "extraheader" not in listing


# --- The action, run through its entry point as action.yml runs it --------------------------------


def parse_outputs(text: str) -> dict[str, str]:
    outputs = {}
    for match in re.finditer(r"^([\w-]+)<<(\S+)\n(.*?)\n\2$", text, re.S | re.M):
        outputs[match.group(1)] = match.group(3)
    return outputs


ACTION_RUN = [sys.executable, "-m", "bassi_ci", "ci", "action-run"]


def action_env(tmp_path: Path, extra_env: dict[str, str] | None = None, **inputs: str) -> dict[str, str]:
    """The environment action.yml gives `bassi ci action-run`: inputs as BASSI_INPUT_*, the runner's
    GITHUB_OUTPUT and RUNNER_TEMP in `tmp_path`, no API key but the input's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BASSI_INPUT_")}
    env.update({f"BASSI_INPUT_{k.upper()}": v for k, v in inputs.items()})
    env.update(extra_env or {})
    env.update(
        {
            "GITHUB_OUTPUT": str(tmp_path / "github_output"),
            "RUNNER_TEMP": str(tmp_path / "runner-temp"),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        }
    )
    env.pop("ANTHROPIC_API_KEY", None)
    return env


def action_run(
    work: Path, tmp_path: Path, extra_env: dict[str, str] | None = None, **inputs: str
) -> tuple[int, dict[str, str], str]:
    out = tmp_path / "github_output"
    env = action_env(tmp_path, extra_env, **inputs)
    proc = subprocess.run(ACTION_RUN, cwd=work, env=env, capture_output=True, text=True, check=False, timeout=120)
    text = out.read_text() if out.exists() else ""
    return proc.returncode, parse_outputs(text), proc.stdout + proc.stderr


RUNNER_FILES = ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY")
RUNNER_TOKENS = {
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-request-token-0123456789",
    "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.example/oidc",
    "ACTIONS_RUNTIME_TOKEN": "runtime-token-0123456789",
}


def runner_env(tmp_path: Path) -> dict[str, str]:
    env = {"GITHUB_ACTIONS": "true", "BASSI_GITHUB_TOKEN": TOKEN, **RUNNER_TOKENS}
    for name in RUNNER_FILES:
        path = tmp_path / name.lower()
        path.write_text(f"{name}_BEFORE=1\n")
        env[name] = str(path)
    return env


# --- The self-test workflow's fake Messages API, reused by workflows the act tests write ----------

SELF_TEST_WORKFLOW = Path(".github/workflows/self-test.yml")
SELF_TEST_SCRIPT = ".github/self-test/script.json"


def fakeapi_steps(repo: Path, script: str, pid_file: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The self-test workflow's own "Start …" and "Stop the fake Messages API" steps, serving
    `script` (a path in the repository) and recording the server's pid in `pid_file`.

    Each pair gets its own pid and output files, so several pairs can follow each other in one
    job: a later server's start never reads an earlier server's address."""
    steps = yaml.safe_load((repo / SELF_TEST_WORKFLOW).read_text())["jobs"]["self-test"]["steps"]
    start = next(step for step in steps if step.get("name") == "Start the fake Messages API")
    stop = next(step for step in steps if step.get("name") == "Stop the fake Messages API")
    start["run"] = (
        start["run"]
        .replace(SELF_TEST_SCRIPT, script)
        .replace("fakeapi.out", f"{pid_file.stem}.out")
        .replace("fakeapi.err", f"{pid_file.stem}.err")
    )
    assert script in start["run"] and f"{pid_file.stem}.out" in start["run"], "the self-test's start step changed"
    for step in (start, stop):
        step["env"] = {"FAKEAPI_PID_FILE": str(pid_file)}
    return start, stop
