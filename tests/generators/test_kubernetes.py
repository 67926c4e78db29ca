"""`bassi ci generate --target kubernetes`: what the manifests say, checked by reading them back and by
kubernetes-validate --strict (the API schemas of real Kubernetes releases, offline); no secret in
them; hostile task files stay text in the ConfigMap; names within Kubernetes' limits; --check and
the remembered --image/--namespace. Field by field byte-for-byte: tests/generators/test_golden.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bassi_ci.generators.kubernetes import CRONJOB_NAME_MAX, DNS_LABEL_RE, SECRET_KEY, SECRET_NAME, resource_name
from tests.cli import ROOT, check_result
from tests.fakeapi import FakeMessagesAPI, from_script
from tests.generators.helpers import NASTY, files_holding, generate, write_task
from tests.oracles import kubernetes_validate, requires

KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")  # the oldest still in wide use, and the newest the tool knows
SECRET_MARKER = "sk-ant-MARKER-must-never-appear-0123456789"
SCHEDULED: dict[str, Any] = {"prompt": "p", "schedule": "daily 09:00", "timezone": "Europe/Berlin"}


def k8s(repo: Path, *extra: str) -> tuple[int, str, str]:
    return generate(repo, "--target", "kubernetes", *extra)


def documents(path: Path) -> dict[str, dict[str, Any]]:
    """The manifests of one file by kind, read by libyaml and by pure PyYAML (which must agree)."""
    text = path.read_text(encoding="utf-8")
    fast = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    assert fast == list(yaml.load_all(text, Loader=yaml.SafeLoader))
    return {document["kind"]: document for document in fast}


def pod_spec(cron_job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


# --------------------------------------------------------------------------- the manifests, validated


@requires("kubernetes-validate")
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_generated_manifest_passes_kubernetes_validate_strict(tmp_path: Path, version: str) -> None:
    write_task(tmp_path, "daily.yaml", id="daily", **SCHEDULED, limits={"timeout": "2h"})
    write_task(tmp_path, "paused.yaml", id="paused", **{**SCHEDULED, "schedule": "every 15m"}, enabled=False)
    write_task(tmp_path, "long.yaml", id="x" * 63, **{**SCHEDULED, "schedule": "0 3 * * MON-FRI"})
    write_task(tmp_path, "nasty.yaml", id="nasty", name=NASTY[:80], **{**SCHEDULED, "prompt": NASTY + "\r\n\u2028"})
    code, _, err = k8s(tmp_path, "--namespace", "agents", "--image", "registry.example/bassi:1")
    assert code == 0, err
    files = sorted((tmp_path / "k8s").glob("*.yaml"))
    assert len(files) == 4
    proc = kubernetes_validate(*files, version=version)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("passed") == 8, proc.stdout  # a ConfigMap and a CronJob per file


@requires("kubernetes-validate")
def test_kubernetes_validate_rejects_what_the_api_server_would(tmp_path: Path) -> None:
    """The checker can fail: a non-string timeZone, and a field the API does not know (--strict)."""
    write_task(tmp_path, "daily.yaml", id="daily", **SCHEDULED)
    assert k8s(tmp_path)[0] == 0
    text = (tmp_path / "k8s" / "bassi-daily.yaml").read_text(encoding="utf-8")
    for broken in (
        text.replace("timeZone: Europe/Berlin", "timeZone: 1"),
        text.replace("backoffLimit: 0", "backoffLimit: 0\n      retries: 3"),
    ):
        assert broken != text
        path = tmp_path / "broken.yaml"
        path.write_text(broken, encoding="utf-8")
        proc = kubernetes_validate(path, version=KUBERNETES_VERSIONS[-1])
        assert proc.returncode != 0, proc.stdout


@requires("kubernetes-validate")
def test_the_golden_manifests_pass_kubernetes_validate_strict() -> None:
    files = sorted((Path(__file__).parent / "golden" / "expected").glob("kubernetes*/k8s/*.yaml"))
    assert len(files) >= 8
    proc = kubernetes_validate(*files, version=KUBERNETES_VERSIONS[-1])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_cron_job_runs_the_task_once_at_a_time_without_retries_within_its_time_limit(tmp_path: Path) -> None:
    write_task(tmp_path, "daily.yaml", id="daily", **SCHEDULED, limits={"timeout": "2h"})
    assert k8s(tmp_path)[0] == 0
    cron_job = documents(tmp_path / "k8s" / "bassi-daily.yaml")["CronJob"]
    spec = cron_job["spec"]
    assert cron_job["apiVersion"] == "batch/v1"
    assert (spec["schedule"], spec["timeZone"]) == ("0 9 * * *", "Europe/Berlin")
    assert spec["concurrencyPolicy"] == "Forbid" and "suspend" not in spec
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0
    assert 2 * 3600 < job["activeDeadlineSeconds"] <= 2 * 3600 + 900  # the task's limit plus a margin
    assert pod_spec(cron_job)["restartPolicy"] == "Never"


def test_a_paused_task_gets_a_suspended_cron_job_and_one_without_schedule_none(tmp_path: Path) -> None:
    write_task(tmp_path, "paused.yaml", id="paused", **SCHEDULED, enabled=False)
    write_task(tmp_path, "by-hand.yaml", id="by-hand", prompt="p")
    code, _, err = k8s(tmp_path)
    assert code == 0, err
    assert documents(tmp_path / "k8s" / "bassi-paused.yaml")["CronJob"]["spec"]["suspend"] is True
    assert not (tmp_path / "k8s" / "bassi-by-hand.yaml").exists()
    assert "'by-hand' has no schedule" in err


def test_the_pod_is_locked_down_and_writes_only_to_empty_dirs(tmp_path: Path) -> None:
    write_task(tmp_path, "daily.yaml", id="daily", **SCHEDULED)
    assert k8s(tmp_path)[0] == 0
    pod = pod_spec(documents(tmp_path / "k8s" / "bassi-daily.yaml")["CronJob"])
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert set(container["resources"]) == {"requests", "limits"}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    env = {item["name"]: item for item in container["env"]}
    # Every place written to at run time is an emptyDir: the workspace, HOME, BASSI_HOME and /tmp.
    for path in (container["workingDir"], env["HOME"]["value"], env["BASSI_HOME"]["value"], "/tmp"):
        assert "emptyDir" in volumes[mounts[path]["name"]], path
    task_mount = next(mount for mount in mounts.values() if "configMap" in volumes[mount["name"]])
    assert task_mount["readOnly"] is True
    assert container["args"] == ["execute", "--ci", f"{task_mount['mountPath']}/daily.yaml"]
    assert env["ANTHROPIC_API_KEY"] == {
        "name": "ANTHROPIC_API_KEY",
        "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": SECRET_KEY}},
    }


def test_the_image_runs_as_the_user_the_manifests_ask_for() -> None:
    dockerfile = (ROOT / "examples" / "kubernetes" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "kubectl apply -f k8s/" in readme and f"secret generic {SECRET_NAME}" in readme


@requires("hadolint")
def test_the_kubernetes_dockerfile_passes_hadolint() -> None:
    dockerfile = ROOT / "examples" / "kubernetes" / "Dockerfile"
    result = subprocess.run(["hadolint", str(dockerfile)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_pods_command_runs_the_task_from_its_config_map(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    """What the pod does, replayed here without a cluster: the ConfigMap's text as a read-only file
    at its mount, a folder per emptyDir, the container's command, args, env and working directory
    from the manifest (paths mapped into tmp_path, `bassi` as this checkout), the key from the
    environment as the Secret would give it, against the fake Messages API."""
    repo = tmp_path / "repo"
    write_task(repo, "daily.yaml", id="daily", **{**SCHEDULED, "prompt": "Write a note."})
    assert k8s(repo)[0] == 0
    found = documents(repo / "k8s" / "bassi-daily.yaml")
    pod = pod_spec(found["CronJob"])
    (container,) = pod["containers"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mapped: dict[str, Path] = {}
    for mount in container["volumeMounts"]:
        folder = tmp_path / "pod" / mount["mountPath"].strip("/")
        folder.mkdir(parents=True)
        mapped[mount["mountPath"]] = folder
        if "configMap" in volumes[mount["name"]]:
            assert volumes[mount["name"]]["configMap"]["name"] == found["ConfigMap"]["metadata"]["name"]
            for key, text in found["ConfigMap"]["data"].items():
                (folder / key).write_bytes(text.encode("utf-8"))
                (folder / key).chmod(0o444)
            folder.chmod(0o555)

    def in_pod(value: str) -> str:
        for mount_path, folder in mapped.items():
            if value == mount_path or value.startswith(mount_path + "/"):
                return str(folder) + value[len(mount_path) :]
        return value

    env = {item["name"]: in_pod(item["value"]) for item in container["env"] if "value" in item}
    env |= {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "ANTHROPIC_BASE_URL": fake_api.base_url}
    env["ANTHROPIC_API_KEY"] = "key-from-the-secret"  # secretKeyRef: the cluster puts it here
    assert container["command"] == ["bassi"]
    fake_api.enqueue(
        from_script({"type": "tool_use", "calls": [["bash", {"command": "echo note > note.txt"}]]}),
        from_script({"type": "text", "text": "done"}),
    )
    command = [sys.executable, "-m", "bassi_ci", *map(in_pod, container["args"])]
    workspace = Path(in_pod(container["workingDir"]))
    proc = subprocess.run(command, cwd=workspace, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = check_result(proc.stdout)
    assert result["status"] == "success" and result["task_id"] == "daily"
    assert (workspace / "note.txt").read_text() == "note\n"  # the agent worked in the emptyDir workspace
    first = json.dumps(fake_api.requests[0].body["messages"][0])
    assert "Write a note." in first  # the task file came from the ConfigMap
    sent = fake_api.requests[0].headers
    assert "key-from-the-secret" in (sent.get("x-api-key"), sent.get("authorization", "").removeprefix("Bearer "))


# --------------------------------------------------------------------------- no secret, hostile text


def test_no_manifest_holds_the_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET_MARKER)
    write_task(tmp_path, "daily.yaml", id="daily", **SCHEDULED)
    code, out, err = k8s(tmp_path)
    assert code == 0, err
    assert SECRET_MARKER not in out + err
    assert files_holding(tmp_path, SECRET_MARKER) == []
    assert "Secret" not in {kind for path in (tmp_path / "k8s").iterdir() for kind in documents(path)}


@pytest.mark.parametrize(
    "prompt",
    [
        NASTY,
        "---\napiVersion: v1\nkind: Secret\nmetadata: {{name: stolen}}\n",
        "line\u2028env: {{A: b}}\u2029#\x85end",
        "windows\r\nline ends\r\n",
        "trailing spaces   \n\n\n",
    ],
    ids=["nasty", "more-manifests", "yaml11-breaks", "crlf", "trailing-space"],
)
def test_the_config_map_holds_the_task_file_verbatim_and_nothing_else(tmp_path: Path, prompt: str) -> None:
    path = write_task(tmp_path, "t.yaml", id="t", name="x: 'y' #z", **{**SCHEDULED, "prompt": prompt})
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n") if "\r" in prompt else path.read_bytes())
    code, _, err = k8s(tmp_path)
    assert code == 0, err
    manifest = tmp_path / "k8s" / "bassi-t.yaml"
    found = documents(manifest)
    assert set(found) == {"ConfigMap", "CronJob"}  # no document smuggled in
    assert found["ConfigMap"]["data"] == {"t.yaml": path.read_bytes().decode("utf-8")}
    assert found["CronJob"]["metadata"]["annotations"]["bassi.dev/task-name"] == "x: 'y' #z"
    # No raw character some YAML reader ends a line at, other than "\n".
    assert not re.search("[\r\x85\u2028\u2029]", manifest.read_text(encoding="utf-8"))


def test_a_json_task_file_keeps_its_suffix_in_the_mount(tmp_path: Path) -> None:
    folder = tmp_path / ".bassi" / "tasks"
    folder.mkdir(parents=True)
    (folder / "weird name ü.json").write_text(
        '{"id": "j", "prompt": "p", "schedule": "hourly", "timezone": "UTC"}', encoding="utf-8"
    )
    assert k8s(tmp_path)[0] == 0
    found = documents(tmp_path / "k8s" / "bassi-j.yaml")
    assert list(found["ConfigMap"]["data"]) == ["j.json"]
    assert pod_spec(found["CronJob"])["containers"][0]["args"][-1].endswith("/j.json")


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("length", [1, 46, 47, 48, 60, 63])
def test_names_are_dns_labels_short_enough_for_the_jobs_kubernetes_derives(length: int) -> None:
    task_id = ("ab-" * 30)[: length - 1] + "c"
    name = resource_name(task_id)
    assert len(name) <= CRONJOB_NAME_MAX and DNS_LABEL_RE.match(name), name
    if len(f"bassi-{task_id}") <= CRONJOB_NAME_MAX:
        assert name == f"bassi-{task_id}"


def test_long_ids_with_the_same_start_get_different_names() -> None:
    first, second = "a" * 62 + "b", "a" * 62 + "c"
    assert resource_name(first) != resource_name(second)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"workdir": "reports"}, "workdir is not supported with --target kubernetes"),
        ({"commit": {"paths": ["out/"]}}, "commit is not supported with --target kubernetes"),
        ({"schedule": "once 2031-01-01 10:00"}, "runs once"),
        ({"schedule": "every 90m"}, "cannot be written as a cron expression"),
    ],
    ids=["workdir", "commit", "once", "every-90m"],
)
def test_tasks_a_pod_cannot_run_are_refused_with_exit_2(tmp_path: Path, fields: dict[str, Any], expected: str) -> None:
    write_task(tmp_path, "t.yaml", id="t", **{**SCHEDULED, **fields})
    code, _, err = k8s(tmp_path)
    assert code == 2 and expected in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "k8s").exists()


def test_an_output_schema_file_is_refused_but_an_inline_schema_is_kept(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "out.json").write_text('{"type": "object"}', encoding="utf-8")
    write_task(tmp_path, "t.yaml", id="t", **SCHEDULED, output_schema="../../schemas/out.json")
    code, _, err = k8s(tmp_path)
    assert code == 2 and "output_schema (a file) is not supported" in err and "inline" in err, err
    write_task(tmp_path, "t.yaml", id="t", **SCHEDULED, output_schema={"type": "object"})
    code, _, err = k8s(tmp_path)
    assert code == 0, err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--namespace", "Agents"), ("--namespace", "a" * 64), ("--namespace", "a_b"), ("--image", ""), ("--image", "a b")],
)
def test_bad_options_are_refused_before_anything_is_written(tmp_path: Path, option: str, value: str) -> None:
    write_task(tmp_path, "t.yaml", id="t", **SCHEDULED)
    code, _, err = k8s(tmp_path, option, value)
    assert code == 2 and err.startswith(f"bassi: error: {option} "), err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "k8s").exists() and not (tmp_path / ".bassi" / "ci-generate.yaml").exists()


# --------------------------------------------------------------------------- --check and remembered options


def test_check_reports_drift_and_stale_manifests(tmp_path: Path) -> None:
    write_task(tmp_path, "a.yaml", id="a", **SCHEDULED)
    write_task(tmp_path, "b.yaml", id="b", **SCHEDULED)
    assert k8s(tmp_path)[0] == 0
    assert k8s(tmp_path, "--check")[0] == 0
    write_task(tmp_path, "a.yaml", id="a", **{**SCHEDULED, "prompt": "changed"})  # the ConfigMap changes
    (tmp_path / ".bassi" / "tasks" / "b.yaml").unlink()
    code, out, _ = k8s(tmp_path, "--check")
    assert code == 1
    assert "k8s/bassi-a.yaml: out of date" in out and "k8s/bassi-b.yaml: stale" in out
    assert k8s(tmp_path)[0] == 0 and not (tmp_path / "k8s" / "bassi-b.yaml").exists()
    assert k8s(tmp_path, "--check")[0] == 0


def test_a_hand_written_manifest_is_never_overwritten(tmp_path: Path) -> None:
    write_task(tmp_path, "a.yaml", id="a", **SCHEDULED)
    mine = tmp_path / "k8s" / "bassi-a.yaml"
    mine.parent.mkdir()
    mine.write_text("apiVersion: v1\n", encoding="utf-8")
    code, _, err = k8s(tmp_path)
    assert code == 2 and "not generated by bassi" in err
    assert mine.read_text(encoding="utf-8") == "apiVersion: v1\n"


def test_image_and_namespace_are_remembered_until_given_again(tmp_path: Path) -> None:
    write_task(tmp_path, "a.yaml", id="a", **SCHEDULED)
    assert k8s(tmp_path, "--image", "reg.example/bassi:2", "--namespace", "agents")[0] == 0
    assert k8s(tmp_path)[0] == 0  # without the options: the remembered ones, nothing changes
    assert k8s(tmp_path, "--check")[0] == 0
    found = documents(tmp_path / "k8s" / "bassi-a.yaml")
    assert {document["metadata"]["namespace"] for document in found.values()} == {"agents"}
    assert pod_spec(found["CronJob"])["containers"][0]["image"] == "reg.example/bassi:2"
    assert k8s(tmp_path, "--namespace", "")[0] == 0  # back to the default: kubectl's namespace
    found = documents(tmp_path / "k8s" / "bassi-a.yaml")
    assert all("namespace" not in document["metadata"] for document in found.values())
    assert pod_spec(found["CronJob"])["containers"][0]["image"] == "reg.example/bassi:2"
    saved = yaml.safe_load((tmp_path / ".bassi" / "ci-generate.yaml").read_text(encoding="utf-8"))
    assert saved == {"kubernetes": {"image": "reg.example/bassi:2"}}
