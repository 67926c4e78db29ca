"""`bassi ci generate --target kubernetes --queue-workers N`: the worker manifest, checked by reading it
back, by kubernetes-validate --strict, and by running its container's command against a queue; no
secret in it; bad options are one-line exit-2 errors; --check and the remembered options. Byte for
byte: the `kubernetes-queue-workers` variant of tests/generators/test_golden.py.
"""

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

from bassi_ci.generators.kubernetes_workers import (
    QUEUE_SECRET_KEY,
    QUEUE_SECRET_NAME,
    WORKER_MANIFEST,
    WORKER_NAME,
)
from tests.cli import ROOT
from tests.fakeapi import FakeMessagesAPI, from_script
from tests.generators.helpers import files_holding, generate, write_task
from tests.generators.test_kubernetes import KUBERNETES_VERSIONS, SCHEDULED, SECRET_MARKER, documents, k8s, pod_spec
from tests.oracles import kubernetes_validate, requires

QUEUE_URL_MARKER = "postgresql://bassi:pw-MARKER-never-in-a-manifest@db.example:5432/bassi"
DRAIN_SCHEMA = json.loads((ROOT / "bassi_ci" / "schemas" / "drain.schema.json").read_text(encoding="utf-8"))


def worker(repo: Path) -> dict[str, Any]:
    """The worker manifest's one document, the CronJob."""
    found = documents(repo / WORKER_MANIFEST)
    assert set(found) == {"CronJob"}
    return found["CronJob"]


def with_workers(repo: Path, *extra: str) -> tuple[int, str, str]:
    write_task(repo, "daily.yaml", id="daily", **SCHEDULED)
    return k8s(repo, *extra)


# --------------------------------------------------------------------------- the manifest, validated


@requires("kubernetes-validate")
@pytest.mark.parametrize("version", ("1.29.0", *KUBERNETES_VERSIONS))
def test_the_worker_manifest_passes_kubernetes_validate_strict(tmp_path: Path, version: str) -> None:
    code, _, err = with_workers(tmp_path, "--queue-workers", "4", "--namespace", "agents", "--image", "reg.example/b:1")
    assert code == 0, err
    proc = kubernetes_validate(tmp_path / WORKER_MANIFEST, version=version)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("passed") == 1, proc.stdout


@requires("kubernetes-validate")
@pytest.mark.parametrize(
    ("good", "bad"),
    [
        ("parallelism: 4", "parallelism: '4'"),
        ("completionMode: Indexed", "completionMode: Indexed\n      retriesPerWorker: 0"),
        ("            status: 'True'\n", ""),  # the 1.37 schema allows leaving it out; the 1.30 one does not
    ],
    ids=["string-count", "unknown-field", "condition-without-status"],
)
def test_kubernetes_validate_rejects_a_broken_worker_manifest(tmp_path: Path, good: str, bad: str) -> None:
    """The checker can fail on exactly this manifest."""
    assert with_workers(tmp_path, "--queue-workers", "4")[0] == 0
    text = (tmp_path / WORKER_MANIFEST).read_text(encoding="utf-8")
    assert good in text
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace(good, bad), encoding="utf-8")
    proc = kubernetes_validate(broken, version=KUBERNETES_VERSIONS[0])
    assert proc.returncode != 0, proc.stdout


def test_n_pods_drain_the_queue_each_once_without_retries_or_collateral_kills(tmp_path: Path) -> None:
    assert with_workers(tmp_path, "--queue-workers", "3", "--queue-schedule", "every 10 minutes")[0] == 0
    cron_job = worker(tmp_path)
    spec = cron_job["spec"]
    assert cron_job["apiVersion"] == "batch/v1" and cron_job["metadata"]["name"] == WORKER_NAME
    assert (spec["schedule"], spec["timeZone"]) == ("*/10 * * * *", "UTC")
    assert spec["concurrencyPolicy"] == "Forbid" and spec["startingDeadlineSeconds"] > 0
    job = spec["jobTemplate"]["spec"]
    assert (job["parallelism"], job["completions"], job["completionMode"]) == (3, 3, "Indexed")
    # No worker is retried, and one worker's failure does not end the Job (and kill the others):
    # a per-index limit, and no Job-wide backoffLimit (a Job-wide 0 would stop every pod at once).
    assert job["backoffLimitPerIndex"] == 0 and "backoffLimit" not in job and "maxFailedIndexes" not in job
    assert job["podFailurePolicy"]["rules"] == [
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
    ]
    assert 3600 <= job["activeDeadlineSeconds"] <= 24 * 3600
    pod = pod_spec(cron_job)
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["command"] == ["bassi"] and container["args"] == ["execute", "--next", "--drain", "--ci"]


def test_the_worker_pod_is_locked_down_like_the_cron_jobs(tmp_path: Path) -> None:
    assert with_workers(tmp_path, "--queue-workers", "2")[0] == 0
    task_pod = pod_spec(documents(tmp_path / "k8s" / "bassi-daily.yaml")["CronJob"])
    pod = pod_spec(worker(tmp_path))
    assert pod["securityContext"] == task_pod["securityContext"] and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    (container,), (task_container,) = pod["containers"], task_pod["containers"]
    for field in ("securityContext", "resources", "image", "workingDir"):
        assert container[field] == task_container[field], field
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert all("emptyDir" in volume for volume in volumes.values())  # no ConfigMap: the items say what to run
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    env = {item["name"]: item for item in container["env"]}
    assert {container["workingDir"], env["HOME"]["value"], env["BASSI_HOME"]["value"], "/tmp"} == mounts
    assert env["BASSI_QUEUE_URL"] == {
        "name": "BASSI_QUEUE_URL",
        "valueFrom": {"secretKeyRef": {"name": QUEUE_SECRET_NAME, "key": QUEUE_SECRET_KEY}},
    }
    assert env["ANTHROPIC_API_KEY"] == next(
        item for item in task_container["env"] if item["name"] == "ANTHROPIC_API_KEY"
    )


def test_the_image_has_the_postgres_driver() -> None:
    dockerfile = (ROOT / "examples" / "kubernetes" / "Dockerfile").read_text(encoding="utf-8")
    assert 'pip install --no-cache-dir ".[postgres]"' in dockerfile


def test_the_worker_pods_command_drains_a_queue(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """What a worker pod does, replayed here without a cluster or PostgreSQL: the container's command,
    args, env and working directory from the manifest (paths mapped into tmp_path, `bassi` as this
    checkout), the key as the Secret would give it; the queue is the local one of BASSI_HOME, which
    a real pod replaces with BASSI_QUEUE_URL's. Two items are run, then the drain reports success."""
    repo = tmp_path / "repo"
    assert with_workers(repo, "--queue-workers", "2")[0] == 0
    (container,) = pod_spec(worker(repo))["containers"]
    mapped = {
        mount["mountPath"]: tmp_path / "pod" / mount["mountPath"].strip("/") for mount in container["volumeMounts"]
    }
    for folder in mapped.values():
        folder.mkdir(parents=True)
    env = {item["name"]: str(mapped.get(item["value"], item["value"])) for item in container["env"] if "value" in item}
    env |= {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "ANTHROPIC_BASE_URL": fake_api.base_url}
    env["ANTHROPIC_API_KEY"] = "key-from-the-secret"
    workspace = mapped[container["workingDir"]]
    for name in ("first", "second"):
        add = [sys.executable, "-m", "bassi_ci", "queue", "add", name, "--prompt", f"Say {name}."]
        subprocess.run(add, cwd=workspace, env=env, capture_output=True, text=True, check=True, timeout=60)
    fake_api.enqueue(from_script({"type": "text", "text": "one"}), from_script({"type": "text", "text": "two"}))
    command = [sys.executable, "-m", "bassi_ci", *container["args"]]
    proc = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    Draft202012Validator(DRAIN_SCHEMA, format_checker=FormatChecker()).validate(summary)
    assert (summary["status"], summary["items_run"], summary["succeeded"]) == ("success", 2, 2)
    assert len(fake_api.requests) == 2
    idle = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert idle.returncode == 0 and json.loads(idle.stdout)["status"] == "idle"  # the next start: nothing left


# --------------------------------------------------------------------------- no secret


def test_no_manifest_holds_the_api_key_or_the_queue_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET_MARKER)
    monkeypatch.setenv("BASSI_QUEUE_URL", QUEUE_URL_MARKER)
    code, out, err = with_workers(tmp_path, "--queue-workers", "2")
    assert code == 0, err
    assert SECRET_MARKER not in out + err and "MARKER" not in out + err
    assert files_holding(tmp_path, SECRET_MARKER, "pw-MARKER", "db.example") == []
    container = pod_spec(worker(tmp_path))["containers"][0]
    assert all("value" not in item for item in container["env"] if item["name"].isupper() and "valueFrom" in item)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("value", ["-1", "abc", "2.5", "", " 3", "04", "1e3", "1001"])
def test_a_bad_number_of_workers_is_refused_before_anything_is_written(tmp_path: Path, value: str) -> None:
    code, _, err = with_workers(tmp_path, "--queue-workers", value)
    assert code == 2 and err.startswith("bassi: error: --queue-workers "), err
    assert "whole number" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "k8s").exists() and not (tmp_path / ".bassi" / "ci-generate.yaml").exists()


@pytest.mark.parametrize("schedule", ["once 2031-01-01 10:00", "every 90m", "sometimes"])
def test_a_bad_queue_schedule_is_refused(tmp_path: Path, schedule: str) -> None:
    code, _, err = with_workers(tmp_path, "--queue-workers", "2", "--queue-schedule", schedule)
    assert code == 2 and err.startswith("bassi: error: --queue-schedule "), err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "k8s").exists()


@pytest.mark.parametrize("target", ["github", "gitlab", "jenkins"])
@pytest.mark.parametrize("option", [("--queue-workers", "2"), ("--queue-schedule", "every 5m")])
def test_queue_options_are_refused_for_the_other_targets(tmp_path: Path, target: str, option: tuple[str, str]) -> None:
    write_task(tmp_path, "daily.yaml", id="daily", **SCHEDULED)
    code, _, err = generate(tmp_path, "--target", target, *option)
    assert code == 2 and err.startswith(f"bassi: error: {option[0]}: only with --target kubernetes"), err
    assert "workflow-templates/bassi-queue-workers.yml" in err and len(err.strip().splitlines()) == 1
    assert [path.name for path in tmp_path.iterdir()] == [".bassi"]
    assert not (tmp_path / ".bassi" / "ci-generate.yaml").exists()


def test_a_task_named_like_the_workers_is_refused_only_with_workers(tmp_path: Path) -> None:
    write_task(tmp_path, "q.yaml", id="queue-worker", **SCHEDULED)
    code, _, err = k8s(tmp_path, "--queue-workers", "2")
    assert code == 2 and "task 'queue-worker': its CronJob would have the queue workers' name" in err, err
    assert not (tmp_path / "k8s").exists()
    assert k8s(tmp_path)[0] == 0


def test_a_hand_written_worker_manifest_is_never_overwritten(tmp_path: Path) -> None:
    mine = tmp_path / WORKER_MANIFEST
    mine.parent.mkdir()
    mine.write_text("apiVersion: v1\n", encoding="utf-8")
    code, _, err = with_workers(tmp_path, "--queue-workers", "2")
    assert code == 2 and "not generated by bassi" in err
    assert mine.read_text(encoding="utf-8") == "apiVersion: v1\n"


# --------------------------------------------------------------------------- --check and remembered options


def test_workers_are_remembered_checked_and_removed_with_zero(tmp_path: Path) -> None:
    assert with_workers(tmp_path, "--queue-workers", "4", "--queue-schedule", "hourly")[0] == 0
    saved = yaml.safe_load((tmp_path / ".bassi" / "ci-generate.yaml").read_text(encoding="utf-8"))
    assert saved == {"kubernetes": {"queue-workers": "4", "queue-schedule": "hourly"}}
    assert k8s(tmp_path, "--check")[0] == 0  # without the options: the remembered ones, like with like
    assert k8s(tmp_path)[0] == 0 and worker(tmp_path)["spec"]["jobTemplate"]["spec"]["parallelism"] == 4
    assert k8s(tmp_path, "--check", "--queue-workers", "5")[0] == 1  # another count would change the file
    manifest = tmp_path / WORKER_MANIFEST
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("parallelism: 4", "parallelism: 9"))
    code, out, _ = k8s(tmp_path, "--check")
    assert code == 1 and f"{WORKER_MANIFEST}: out of date" in out
    assert k8s(tmp_path, "--queue-workers", "0")[0] == 0  # 0: no workers, and nothing to remember
    assert not manifest.exists() and (tmp_path / "k8s" / "bassi-daily.yaml").exists()
    saved = yaml.safe_load((tmp_path / ".bassi" / "ci-generate.yaml").read_text(encoding="utf-8"))
    assert saved == {"kubernetes": {"queue-schedule": "hourly"}}
    assert k8s(tmp_path, "--check")[0] == 0


def test_the_default_schedule_is_every_five_minutes_and_nothing_is_written_without_workers(tmp_path: Path) -> None:
    assert with_workers(tmp_path)[0] == 0
    assert not (tmp_path / WORKER_MANIFEST).exists()
    assert with_workers(tmp_path, "--queue-workers", "1")[0] == 0
    assert worker(tmp_path)["spec"]["schedule"] == "*/5 * * * *"
    header = (tmp_path / WORKER_MANIFEST).read_text(encoding="utf-8").split("apiVersion:")[0]
    assert "not a Deployment" in header and "backoffLimitPerIndex" in header
