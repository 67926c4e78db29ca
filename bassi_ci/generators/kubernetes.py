"""Kubernetes: one `batch/v1` CronJob per scheduled task, with a ConfigMap beside it, `k8s/bassi-<id>.yaml`.

The ConfigMap holds the task file's text verbatim (as a YAML string, so nothing in it is read as
manifest); the pod mounts it read-only and runs `bassi execute --ci` on it. The API key comes from
the Secret SECRET_NAME (key SECRET_KEY), never from the manifest. The pod has no repository checkout:
it runs in an empty `emptyDir` workspace with a read-only root filesystem, so a task with `commit:`
or `workdir:` (both need a checkout) is refused, and HOME, BASSI_HOME and /tmp are emptyDirs too.

Kubernetes retries nothing (`backoffLimit: 0`): bassi retries API errors itself, and a second pod
would run the agent again. `concurrencyPolicy: Forbid` keeps one run per task at a time, as the
other targets do. Names are DNS-1123 labels built from the task id; an id too long for a CronJob
name (52 characters, so the Job names Kubernetes derives stay within 63) is cut and given a hash.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Any

from bassi_ci.generators.common import TIMEOUT_MARGIN_MIN
from bassi_ci.generators.cron import CronSpec, task_cron
from bassi_ci.generators.files import BlockText, GeneratedFile, GenerateError, Rendering, dump_yaml, marker_line
from bassi_ci.tasks.model import Task

K8S_DIR = "k8s"
DEFAULT_IMAGE = "bassi-ci:latest"  # built from examples/kubernetes/Dockerfile; push it and pass --image
SECRET_NAME = "bassi-anthropic"
SECRET_KEY = "api-key"
TASKS_MOUNT = "/bassi/tasks"
WORKSPACE = "/work"
HOME_DIR = "/home/bassi"
BASSI_HOME_DIR = "/data"
USER_ID = 10001  # the image's user (examples/kubernetes/Dockerfile)
CRONJOB_NAME_MAX = 52
DNS_LABEL_RE = re.compile(r"\A[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
STARTING_DEADLINE_S = 300  # a run that could not start within 5 minutes of its time is skipped
HISTORY_SUCCEEDED = 3
HISTORY_FAILED = 3
RESOURCES = {
    "requests": {"cpu": "250m", "memory": "512Mi", "ephemeral-storage": "1Gi"},
    "limits": {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "4Gi"},
}


@dataclass(frozen=True)
class KubernetesOptions:
    image: str = DEFAULT_IMAGE
    namespace: str = ""  # empty: none in the manifests, kubectl's current namespace applies


def manifest_path(task_id: str) -> str:
    return f"{K8S_DIR}/bassi-{task_id}.yaml"


def resource_name(task_id: str) -> str:
    """`bassi-<id>`, a DNS-1123 label (ids are slugs) of at most CRONJOB_NAME_MAX characters."""
    name = f"bassi-{task_id}"
    if len(name) <= CRONJOB_NAME_MAX:
        return name
    digest = hashlib.sha256(task_id.encode()).hexdigest()[:8]
    return name[: CRONJOB_NAME_MAX - len(digest) - 1].rstrip("-") + "-" + digest


def check_options(options: KubernetesOptions) -> None:
    """A namespace Kubernetes would refuse, or an image no pod can pull, fails here and not at `kubectl apply`."""
    if options.namespace and not DNS_LABEL_RE.match(options.namespace):
        raise GenerateError(
            f"--namespace {options.namespace!r}: not a Kubernetes namespace name (at most 63 lower-case letters, "
            "digits and inner hyphens); give e.g. --namespace bassi"
        )
    if not options.image or any(char.isspace() for char in options.image):
        raise GenerateError(
            f"--image {options.image!r}: not a container image reference; give e.g. --image registry.example/bassi-ci:1"
        )


def render_kubernetes(tasks: list[Task], options: KubernetesOptions, sources: dict[str, str]) -> Rendering:
    check_options(options)
    check_distinct_names([task for task in tasks if task.schedule is not None])
    files = []
    notes = []
    for task in tasks:
        if task.schedule is None:
            notes.append(f"task '{task.id}' has no schedule, so it gets no CronJob")
            continue
        check_kubernetes_supported(task)
        text = render_manifest(task, options, sources.get(task.id, task.id))
        files.append(GeneratedFile(manifest_path(task.id), text))
    return Rendering(files=tuple(files), owned_globs=(f"{K8S_DIR}/bassi-*.yaml",), notes=tuple(notes))


def check_distinct_names(tasks: list[Task]) -> None:
    """Two tasks whose cut names match (an id can be made to equal another's cut name and hash)
    would overwrite each other's CronJob and ConfigMap at `kubectl apply`: one task's schedule
    would run the other's task file."""
    seen: dict[str, str] = {}
    for task in tasks:
        name = resource_name(task.id)
        if name in seen:
            raise GenerateError(
                f"tasks '{seen[name]}' and '{task.id}' would both be named {name} in Kubernetes (long ids are "
                "cut to 52 characters with a hash); give one of them another id"
            )
        seen[name] = task.id


def check_kubernetes_supported(task: Task) -> None:
    """The pod has no repository checkout, which `commit:`, `workdir:` and a schema file all need."""
    needs_checkout = (
        ("commit", task.commit is not None, "remove commit"),
        ("workdir", task.workdir is not None, "remove workdir"),
        ("output_schema (a file)", isinstance(task.output_schema, str), "put the schema inline"),
    )
    for setting, present, fix in needs_checkout:
        if present:
            raise GenerateError(
                f"task '{task.id}': {setting} is not supported with --target kubernetes (the pod runs in an "
                f"empty workspace, with no repository checkout); {fix}, or use a CI target"
            )


def render_manifest(task: Task, options: KubernetesOptions, source: str) -> str:
    """The ConfigMap and the CronJob of one task, as one YAML stream."""
    cron = _schedule(task)
    key = config_key(task)
    documents = [config_map(task, options, key), cron_job(task, options, cron, key)]
    header = marker_line("#", source)
    if not task.enabled:
        header += f"\n# Task '{task.id}' is paused: the CronJob is suspended."
    return header + "\n" + "---\n".join(dump_yaml(document) for document in documents)


def _schedule(task: Task) -> CronSpec:
    """The cron form of the schedule, also for a paused task (its CronJob is suspended)."""
    cron = task_cron(task if task.enabled else replace(task, enabled=True))
    assert cron is not None  # the task has a schedule
    return cron


def config_key(task: Task) -> str:
    """The task file's name in the ConfigMap and the mount: the id, with the source's suffix
    (the loader reads `.json` as JSON), never the file's own name, which may hold any character."""
    suffix = task.source.suffix.lower() if task.source is not None else ".yaml"
    return task.id + (suffix or ".yaml")


def task_text(task: Task) -> BlockText:
    """The task file verbatim, or (a task without a file) its canonical YAML."""
    if task.source is not None:
        return BlockText(task.source.read_bytes().decode("utf-8"))  # bytes: keep \r\n as written
    return BlockText(dump_yaml(task.to_dict()))


def metadata(task: Task, options: KubernetesOptions) -> dict[str, Any]:
    data: dict[str, Any] = {"name": resource_name(task.id)}
    if options.namespace:
        data["namespace"] = options.namespace
    data["labels"] = labels(task)
    data["annotations"] = {"bassi.dev/task-id": task.id, "bassi.dev/task-name": task.name}
    return data


def labels(task: Task) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "bassi", "app.kubernetes.io/name": resource_name(task.id)}


def config_map(task: Task, options: KubernetesOptions, key: str) -> dict[str, Any]:
    data = {key: task_text(task)}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(task, options), "data": data}


def cron_job(task: Task, options: KubernetesOptions, cron: CronSpec, key: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "schedule": cron.expression,
        "timeZone": cron.timezone,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": STARTING_DEADLINE_S,
        "successfulJobsHistoryLimit": HISTORY_SUCCEEDED,
        "failedJobsHistoryLimit": HISTORY_FAILED,
    }
    if not task.enabled:
        spec["suspend"] = True
    spec["jobTemplate"] = {"metadata": {"labels": labels(task)}, "spec": job_spec(task, options, key)}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata(task, options), "spec": spec}


def active_deadline_seconds(task: Task) -> int:
    """The task's own wall-clock limit plus the margin the CI targets give (pulling the image, start-up)."""
    return task.limits.timeout_s + TIMEOUT_MARGIN_MIN * 60


def job_spec(task: Task, options: KubernetesOptions, key: str) -> dict[str, Any]:
    return {
        "activeDeadlineSeconds": active_deadline_seconds(task),
        "backoffLimit": 0,
        "template": {
            "metadata": {"labels": labels(task)},
            "spec": pod_spec([container(options, key)], [task_volume(task), *scratch_volumes()]),
        },
    }


def pod_spec(containers: list[dict[str, Any]], pod_volumes: list[dict[str, Any]]) -> dict[str, Any]:
    """The locked-down pod every bassi manifest runs (the CronJobs' and the queue workers')."""
    return {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": USER_ID,
            "runAsGroup": USER_ID,
            "fsGroup": USER_ID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
        "volumes": pod_volumes,
    }


def container(options: KubernetesOptions, key: str) -> dict[str, Any]:
    task_mount = {"name": "task", "mountPath": TASKS_MOUNT, "readOnly": True}
    return bassi_container(options, ["execute", "--ci", f"{TASKS_MOUNT}/{key}"], [], [task_mount])


def bassi_container(
    options: KubernetesOptions, args: list[str], secret_env: list[dict[str, Any]], mounts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The `bassi` container: `args`, the API key and `secret_env` from Secrets, `mounts` before the
    emptyDirs; never root, a read-only root filesystem, no capabilities, bounded resources."""
    return {
        "name": "bassi",
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["bassi"],
        "args": args,
        "workingDir": WORKSPACE,
        "env": [
            secret_env_var("ANTHROPIC_API_KEY", SECRET_NAME, SECRET_KEY),
            *secret_env,
            {"name": "HOME", "value": HOME_DIR},
            {"name": "BASSI_HOME", "value": BASSI_HOME_DIR},
            {"name": "TMPDIR", "value": "/tmp"},
        ],
        "resources": RESOURCES,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": USER_ID,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            *mounts,
            {"name": "workspace", "mountPath": WORKSPACE},
            {"name": "home", "mountPath": HOME_DIR},
            {"name": "bassi-home", "mountPath": BASSI_HOME_DIR},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }


def secret_env_var(name: str, secret: str, key: str) -> dict[str, Any]:
    """An environment variable the cluster fills from a Secret: the manifest holds only its name."""
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def task_volume(task: Task) -> dict[str, Any]:
    """The task file from its ConfigMap, read-only."""
    return {"name": "task", "configMap": {"name": resource_name(task.id), "defaultMode": 0o444}}


def scratch_volumes() -> list[dict[str, Any]]:
    """Every place bassi or the agent writes is an emptyDir (the root filesystem is read-only)."""
    return [{"name": name, "emptyDir": {}} for name in ("workspace", "home", "bassi-home", "tmp")]
