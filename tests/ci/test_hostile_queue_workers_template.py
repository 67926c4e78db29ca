"""The GitHub Actions queue workers (workflow-templates/bassi-queue-workers.yml) attacked from the
agent's side: the agent runs as the runner's user and may read /proc/<pid>/environ of every
process of that user that is not marked non-dumpable. bassi marks itself so; a shell that starts
bassi and waits for it is not, so no process above bassi may hold the queue URL or the API key.

The template's steps run here as GitHub runs them (`bash --noprofile --norc -e -o pipefail FILE`,
the step's env), one after the other, with a stand-in `bassi` on PATH that records which of its
ancestors hold the secrets in their environment, then prints a drain summary."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "workflow-templates" / "bassi-queue-workers.yml"
QUEUE_URL = "postgresql://worker:queue-pw-4711@db.example:5432/queue"
API_KEY = "sk-ant-api03-not-a-real-key-4711"

# Walks from its parent up to PID 1, noting every process whose environment holds a secret.
STAND_IN = """#!/bin/bash
pid=$PPID
while [ "$pid" -gt 1 ]; do
  if tr '\\0' '\\n' < "/proc/$pid/environ" | grep -q -e 'queue-pw-4711' -e 'not-a-real-key-4711'; then
    echo "$pid $(tr '\\0' ' ' < "/proc/$pid/cmdline")" >> @record
  fi
  pid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status")
done
echo "$*" >> @record.args
echo '{"schema_version": 1, "status": "failed", "exit_code": @code, "items_run": 1}'
exit @code
"""


def steps() -> list[dict[str, Any]]:
    (job,) = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))["jobs"].values()
    found: list[dict[str, Any]] = job["steps"]
    return found


def run_steps_after_install(tmp_path: Path, code: int) -> tuple[list[int], Path]:
    """Each `run:` step after the install one, in order, like the runner (a failed step skips
    only the steps without `if: always()`); their exit codes, and the step-summary file."""
    bin_dir, record = tmp_path / "bin", tmp_path / "record"
    bin_dir.mkdir()
    stand_in = STAND_IN.replace("@record", str(record)).replace("@code", str(code))
    (bin_dir / "bassi").write_text(stand_in, encoding="utf-8")
    (bin_dir / "bassi").chmod(0o755)
    summary = tmp_path / "step-summary.md"
    secrets = {"secrets.BASSI_QUEUE_URL": QUEUE_URL, "secrets.ANTHROPIC_API_KEY": API_KEY}
    base = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(summary),
        "BASSI_MAX_ITEMS": "",
    }
    codes: list[int] = []
    after_install = steps()[[s.get("name") for s in steps()].index("Install bassi") + 1 :]
    for number, step in enumerate(after_install):
        if codes and codes[-1] != 0 and "always()" not in str(step.get("if", "")):
            continue
        env = dict(base)
        for name, value in (step.get("env") or {}).items():
            expression = str(value).removeprefix("${{ ").removesuffix(" }}")
            env[name] = secrets.get(expression, "1" if expression == "matrix.worker" else str(value))
        script = tmp_path / f"step-{number}.sh"
        script.write_text(step["run"], encoding="utf-8")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", str(script)], env=env, check=False, timeout=60
        )
        codes.append(proc.returncode)
    return codes, record


@pytest.mark.parametrize("code", [0, 1])
def test_no_process_above_bassi_holds_the_queue_url_or_the_api_key(tmp_path: Path, code: int) -> None:
    codes, record = run_steps_after_install(tmp_path, code)
    assert (tmp_path / "record.args").read_text() == "execute --next --drain --ci\n"  # bassi did run
    holders = record.read_text(encoding="utf-8") if record.exists() else ""
    assert holders == "", f"the agent could read the secrets from these ancestors of bassi:\n{holders}"
    assert codes[0] == code  # the worker's step fails when its drain failed
    summary = (tmp_path / "step-summary.md").read_text(encoding="utf-8")
    assert f"### bassi queue worker 1 (exit code {code})" in summary
    assert json.loads(summary.split("```json\n")[1].split("```")[0])["exit_code"] == code
    assert QUEUE_URL not in summary and API_KEY not in summary
