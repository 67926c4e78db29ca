"""workflow-templates/bassi-queue-workers.yml: the GitHub Actions workers of the shared queue, checked
by actionlint and the github-workflows schema, read back for what a worker fleet needs, and run
under act (four matrix jobs on this machine draining one queue, with the real `bassi`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from tests.fakeapi import FakeMessagesAPI, from_script
from tests.oracles import actionlint, check_schema, requires

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "workflow-templates" / "bassi-queue-workers.yml"
PROPERTIES = ROOT / "workflow-templates" / "bassi-queue-workers.properties.json"
DRAIN_SCHEMA = json.loads((ROOT / "bassi_ci" / "schemas" / "drain.schema.json").read_text(encoding="utf-8"))


def workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    return data


def job() -> dict[str, Any]:
    (only,) = workflow()["jobs"].values()
    result: dict[str, Any] = only
    return result


def step(name: str) -> dict[str, Any]:
    return next(item for item in job()["steps"] if item.get("name") == name)


@requires("actionlint", "check-jsonschema")
def test_the_template_passes_actionlint_and_the_workflow_schema() -> None:
    actionlint(TEMPLATE, cwd=ROOT)
    check_schema("vendor.github-workflows", TEMPLATE)


@requires("actionlint")
def test_actionlint_catches_a_broken_copy(tmp_path: Path) -> None:
    """The checker can fail on this file: an expression naming a matrix key that does not exist."""
    broken = tmp_path / "broken.yml"
    broken.write_text(TEMPLATE.read_text(encoding="utf-8").replace("matrix.worker }}", "matrix.workers }}"))
    proc = subprocess.run(["actionlint", "-shellcheck=", "-pyflakes=", "-oneline", str(broken)], capture_output=True)
    assert proc.returncode == 1 and b"workers" in proc.stdout


def test_scheduled_and_by_hand_one_fleet_at_a_time_with_read_only_rights() -> None:
    data = workflow()
    on = data[True]  # PyYAML reads the key `on` as the boolean true
    assert [entry["cron"] for entry in on["schedule"]] == ["*/15 * * * *"]
    assert set(on["workflow_dispatch"]["inputs"]) == {"max-items"}
    assert data["concurrency"] == {"group": "bassi-queue-workers", "cancel-in-progress": False}
    assert data["permissions"] == {"contents": "read"}
    drain = job()
    assert drain["strategy"]["fail-fast"] is False and drain["strategy"]["matrix"]["worker"] == [1, 2, 3, 4]
    assert 0 < drain["timeout-minutes"] <= 360


def test_each_worker_installs_the_postgres_extra_and_drains_with_both_secrets() -> None:
    assert job()["env"]["BASSI_PACKAGE"] == "bassi-ci[postgres]"
    assert '"$BASSI_PACKAGE"' in step("Install bassi")["run"]
    drain = step("Drain the queue")
    assert drain["env"]["BASSI_QUEUE_URL"] == "${{ secrets.BASSI_QUEUE_URL }}"
    assert drain["env"]["ANTHROPIC_API_KEY"] == "${{ secrets.ANTHROPIC_API_KEY }}"
    assert "exec bassi execute --next --drain --ci" in drain["run"]  # no shell above bassi keeps the secrets
    summary = step("Step summary")
    assert summary["if"] == "always()" and "GITHUB_STEP_SUMMARY" in summary["run"]
    assert "secrets." not in str(summary["env"])
    for script in (drain["run"], summary["run"]):
        assert "${{" not in script  # inputs and secrets reach the script through env only


def test_the_properties_describe_the_template() -> None:
    props = json.loads(PROPERTIES.read_text(encoding="utf-8"))
    assert set(props) >= {"name", "description", "iconName", "categories"}
    assert props["name"] == workflow()["name"] and props["categories"]


# --------------------------------------------------------------------------- under act

# The install step, for act: this checkout's `bassi` instead of the package from PyPI (no network
# here). The stand-in records what the drain step gave it, then runs the real bassi against the
# local queue in QUEUE_HOME (the stand-in of the PostgreSQL queue, which needs the other backend):
# the URL is recorded and unset, since this checkout may not know the postgresql:// backend yet.
SHIM = """#!/bin/sh
printf '%s|%s|%s|%s\\n' "$WORKER" "$*" "${BASSI_QUEUE_URL:+url-set}" "${ANTHROPIC_API_KEY:+key-set}" >> @record
unset BASSI_QUEUE_URL
export BASSI_HOME=@queue_home HOME=@home ANTHROPIC_BASE_URL=@base_url PYTHONPATH=@root
exec @python -m bassi_ci "$@"
"""


def act_copy(tmp_path: Path, fake_api: FakeMessagesAPI) -> tuple[Path, Path]:
    """A one-file repository with the template as a workflow whose install step puts the shim on PATH."""
    repo, record, bin_dir = tmp_path / "repo", tmp_path / "record.txt", tmp_path / "bin"
    bin_dir.mkdir()
    shim = SHIM
    values = {
        "record": record,
        "queue_home": tmp_path / "queue-home",
        "home": tmp_path / "home",
        "base_url": fake_api.base_url,
        "root": ROOT,
        "python": sys.executable,
    }
    for name, value in values.items():
        shim = shim.replace(f"@{name}", str(value))
    (bin_dir / "bassi").write_text(shim, encoding="utf-8")
    (bin_dir / "bassi").chmod(0o755)
    text = TEMPLATE.read_text(encoding="utf-8")
    install_start = text.index("      - name: Install bassi\n")
    install_end = text.index("      - name: Drain the queue\n")
    install = f'      - name: Install bassi\n        run: echo "{bin_dir}" >> "$GITHUB_PATH"\n\n'
    text = text[:install_start] + install + text[install_end:]
    target = repo / ".github" / "workflows" / "workers.yml"
    target.parent.mkdir(parents=True)
    target.write_text(text, encoding="utf-8")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "workers"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", *args], cwd=repo, check=True)
    subprocess.run(["git", "remote", "add", "origin", "https://example.invalid/o/r.git"], cwd=repo, check=True)
    return repo, record


def run_act(repo: Path, *secrets: str) -> subprocess.CompletedProcess[str]:
    command = ["act", "workflow_dispatch", "-W", ".github/workflows/workers.yml", "-P", "ubuntu-latest=-self-hosted"]
    for secret in secrets:
        command += ["-s", secret]
    env = {**os.environ, "ANTHROPIC_API_KEY": "", "BASSI_QUEUE_URL": ""}
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=240)


@pytest.mark.slow
@requires("act")
def test_four_workers_drain_one_queue_under_act(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    repo, record = act_copy(tmp_path, fake_api)
    queue_env = {**os.environ, "BASSI_HOME": str(tmp_path / "queue-home"), "HOME": str(tmp_path / "home")}
    for name in ("alpha", "beta", "gamma"):
        add = [sys.executable, "-m", "bassi_ci", "queue", "add", name, "--prompt", f"Say {name}."]
        subprocess.run(add, cwd=tmp_path, env={**queue_env, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True)
    fake_api.enqueue(*(from_script({"type": "text", "text": "done"}) for _ in range(3)))
    proc = run_act(repo, "BASSI_QUEUE_URL=postgresql://u:pw@db.invalid:5432/q", "ANTHROPIC_API_KEY=fake-key")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    calls = sorted(line.split("|") for line in record.read_text(encoding="utf-8").splitlines())
    assert calls == [[str(n), "execute --next --drain --ci", "url-set", "key-set"] for n in (1, 2, 3, 4)]
    summaries = [json.loads(text) for text in _json_blocks(log)]
    assert len(summaries) == 4, log[-4000:]
    for summary in summaries:
        Draft202012Validator(DRAIN_SCHEMA, format_checker=FormatChecker()).validate(summary)
    assert sorted(item["name"] for summary in summaries for item in summary["items"]) == ["alpha", "beta", "gamma"]
    assert len(fake_api.requests) == 3  # each item ran once, by whichever worker claimed it
    assert all(f"### bassi queue worker {n} (exit code 0)" in log for n in (1, 2, 3, 4))


@pytest.mark.slow
@requires("act")
def test_a_worker_without_the_queue_secret_fails_instead_of_draining_nothing(
    tmp_path: Path, fake_api: FakeMessagesAPI
) -> None:
    repo, record = act_copy(tmp_path, fake_api)
    proc = run_act(repo, "ANTHROPIC_API_KEY=fake-key")
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "the secret BASSI_QUEUE_URL is not set" in log
    assert not record.exists()  # bassi never started


def _json_blocks(log: str) -> list[str]:
    """The drain summaries the workers wrote to their step summaries, which act echoes after each step."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in log.splitlines():
        text = line.split("| ", 1)[-1] if "| " in line else line
        if text.strip() == "```json":
            current = []
        elif text.strip() == "```" and current is not None:
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(text)
    return blocks
