"""Kubernetes queue workers (`--queue-workers N`): `k8s/bassi-queue-worker.yaml`, one CronJob whose
Job runs N pods of `bassi execute --next --drain --ci` against the shared PostgreSQL queue.

Why a CronJob and not a Deployment: a drain ends when the queue is empty, and a Deployment's pods
must run for ever (`restartPolicy: Always`), so an exited drain would be restarted again and again
and end in CrashLoopBackOff. A Job fits a command that finishes; the CronJob starts one on the
`--queue-schedule` (UTC), and `concurrencyPolicy: Forbid` skips a start while workers still drain
(they take the new items themselves), so starts never pile up.

Why an Indexed Job with `backoffLimitPerIndex: 0` and not `backoffLimit: 0`: a drain exits non-zero
when one of its items failed. Under a Job-wide `backoffLimit: 0` that one failure would fail the
whole Job, and Kubernetes would kill the other workers in the middle of their items. Per index,
each worker is still never retried (bassi retries API errors itself, and the queue its items), the
others drain on, and the Job reports failed once they are done. A pod evicted by a node drain or
preemption (`DisruptionTarget`) is replaced rather than counted: its item goes back to the queue
when its lease runs out. This needs Kubernetes 1.29 or newer (backoffLimitPerIndex, GA in 1.33).

The queue's address comes from the Secret QUEUE_SECRET_NAME (key QUEUE_SECRET_KEY), the API key
from the CronJobs' Secret; the pod has the same lock-down as theirs (kubernetes.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bassi_ci.errors import ScheduleError
from bassi_ci.generators.files import GeneratedFile, GenerateError, Rendering, dump_yaml, marker_line, one_line
from bassi_ci.generators.kubernetes import (
    HISTORY_FAILED,
    HISTORY_SUCCEEDED,
    K8S_DIR,
    SECRET_KEY,
    SECRET_NAME,
    STARTING_DEADLINE_S,
    KubernetesOptions,
    bassi_container,
    pod_spec,
    resource_name,
    scratch_volumes,
    secret_env_var,
)
from bassi_ci.schedules import parse_schedule, to_cron
from bassi_ci.tasks.model import Task

WORKER_NAME = "bassi-queue-worker"
WORKER_MANIFEST = f"{K8S_DIR}/{WORKER_NAME}.yaml"
QUEUE_SECRET_NAME = "bassi-queue"
QUEUE_SECRET_KEY = "url"
DEFAULT_WORKERS = "0"  # none: the option is off unless given
DEFAULT_QUEUE_SCHEDULE = "every 5m"  # an item waits at most about 5 minutes for a worker
MAX_WORKERS = 1000  # a guard against a typo, far above what one queue usefully serves
WORKER_DEADLINE_S = 6 * 3600  # a drain still running after 6 hours is stopped; its item goes back to the queue
# The condition Kubernetes sets on a pod it stops for a node drain, a preemption or an eviction
# ("status" defaults to True, but the API schemas of Kubernetes 1.29 to 1.34 require it).
EVICTED = {"type": "DisruptionTarget", "status": "True"}
WORKERS_RE = re.compile(r"\A(0|[1-9][0-9]*)\Z")


@dataclass(frozen=True)
class QueueWorkerOptions:
    workers: int
    schedule: str
    cron: str  # the schedule as a 5-field cron expression, in UTC


def queue_worker_options(workers: str, schedule: str) -> QueueWorkerOptions:
    """The options as given (texts, as remembered), checked; workers 0 means no worker manifest."""
    if not WORKERS_RE.match(workers) or int(workers) > MAX_WORKERS:
        raise GenerateError(
            f"--queue-workers {workers!r}: not a number of workers; give a whole number from 1 to "
            f"{MAX_WORKERS}, e.g. --queue-workers 4 (0: no queue workers)"
        )
    return QueueWorkerOptions(int(workers), schedule, _queue_cron(schedule))


def _queue_cron(schedule: str) -> str:
    try:
        parsed = parse_schedule(schedule)
        if parsed.kind == "once":
            raise ScheduleError("runs once; workers must start again and again, e.g. --queue-schedule 'every 5m'")
        return to_cron(parsed)
    except ScheduleError as exc:
        raise GenerateError(f"--queue-schedule {schedule!r}: {exc}") from None


def add_queue_workers(
    rendering: Rendering, tasks: list[Task], options: KubernetesOptions, queue: QueueWorkerOptions
) -> Rendering:
    """`rendering` (the CronJobs of the tasks) with the worker manifest, when workers were asked for."""
    if queue.workers == 0:
        return rendering
    for task in tasks:
        if resource_name(task.id) == WORKER_NAME:
            raise GenerateError(
                f"task '{task.id}': its CronJob would have the queue workers' name ({WORKER_NAME}); "
                "give the task another id, or generate without --queue-workers"
            )
    manifest = GeneratedFile(WORKER_MANIFEST, render_worker_manifest(options, queue))
    return Rendering(files=(*rendering.files, manifest), owned_globs=rendering.owned_globs, notes=rendering.notes)


def render_worker_manifest(options: KubernetesOptions, queue: QueueWorkerOptions) -> str:
    return header(queue) + "\n" + dump_yaml(worker_cron_job(options, queue))


def header(queue: QueueWorkerOptions) -> str:
    """The marker, then why the manifest is shaped as it is (the module's docstring, short)."""
    lines = [
        marker_line("#", "the --queue-workers option"),
        f"# {queue.workers} queue worker(s), started {one_line(queue.schedule)} (UTC): each pod runs",
        "# 'bassi execute --next --drain --ci' until the PostgreSQL queue (BASSI_QUEUE_URL) is empty.",
        "# A CronJob, not a Deployment: a drain exits when the queue is empty, and a Deployment would",
        "# restart it for ever (CrashLoopBackOff). concurrencyPolicy Forbid: no start while workers drain.",
        "# An Indexed Job with backoffLimitPerIndex 0: no worker is retried, and one whose item failed",
        "# does not stop the others (a Job-wide backoffLimit 0 would kill them mid-item). Kubernetes 1.29+.",
        f"# Secrets: {SECRET_NAME} (key {SECRET_KEY}) holds the API key, {QUEUE_SECRET_NAME} (key "
        f"{QUEUE_SECRET_KEY}) the queue's postgresql:// URL.",
    ]
    return "\n".join(lines)


def labels() -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "bassi",
        "app.kubernetes.io/name": WORKER_NAME,
        "app.kubernetes.io/component": "queue-worker",
    }


def metadata(options: KubernetesOptions) -> dict[str, object]:
    data: dict[str, object] = {"name": WORKER_NAME}
    if options.namespace:
        data["namespace"] = options.namespace
    data["labels"] = labels()
    return data


def worker_cron_job(options: KubernetesOptions, queue: QueueWorkerOptions) -> dict[str, object]:
    spec = {
        "schedule": queue.cron,
        "timeZone": "UTC",
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": STARTING_DEADLINE_S,
        "successfulJobsHistoryLimit": HISTORY_SUCCEEDED,
        "failedJobsHistoryLimit": HISTORY_FAILED,
        "jobTemplate": {"metadata": {"labels": labels()}, "spec": worker_job_spec(options, queue)},
    }
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": metadata(options), "spec": spec}


def worker_job_spec(options: KubernetesOptions, queue: QueueWorkerOptions) -> dict[str, object]:
    queue_url = secret_env_var("BASSI_QUEUE_URL", QUEUE_SECRET_NAME, QUEUE_SECRET_KEY)
    drain = bassi_container(options, ["execute", "--next", "--drain", "--ci"], [queue_url], [])
    return {
        "parallelism": queue.workers,
        "completions": queue.workers,
        "completionMode": "Indexed",
        "backoffLimitPerIndex": 0,
        "podFailurePolicy": {"rules": [{"action": "Ignore", "onPodConditions": [EVICTED]}]},
        "activeDeadlineSeconds": WORKER_DEADLINE_S,
        "template": {"metadata": {"labels": labels()}, "spec": pod_spec([drain], scratch_volumes())},
    }
