"""`bassi ci generate`: task files in, CI files out (or a drift report with --check)."""

from __future__ import annotations

from pathlib import Path

import click

from bassi_ci import output
from bassi_ci.errors import ExitCode
from bassi_ci.generators.generate import DEFAULTS, TARGETS, GenerateOptions, generate
from bassi_ci.tasks.lookup import TaskFolder


@click.command(name="generate")
@click.option(
    "--tasks-dir",
    default=".bassi/tasks",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder of task files.",
)
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    default="github",
    show_default=True,
    help="CI system to generate for.",
)
@click.option(
    "--out",
    default=".",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Repository root the files are written under.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 if regenerating (with the remembered options) would change any file.",
)
@click.option("--action", help=f"GitHub: the action the workflows use.  [default: {DEFAULTS['github']['action']}]")
@click.option(
    "--install-command",
    help=(
        "GitLab: the command that installs bassi in the job.  "
        f"[default: {DEFAULTS['gitlab']['install-command']}]  "
        "Jenkins: a command that must leave an executable .bassi-venv/bin/bassi in the workspace "
        "(each sh step is a new shell, so later steps call bassi by that path).  "
        f"[default: {DEFAULTS['jenkins']['install-command']}]"
    ),
)
@click.option(
    "--gitlab-image",
    help=f"GitLab: job image ('' for the runner's default).  [default: {DEFAULTS['gitlab']['gitlab-image']}]",
)
@click.option(
    "--gitlab-ref", help=f"GitLab: branch of the printed schedules.  [default: {DEFAULTS['gitlab']['gitlab-ref']}]"
)
@click.option(
    "--image",
    help=(
        "Kubernetes: the container image the CronJobs run (built from examples/kubernetes/Dockerfile).  "
        f"[default: {DEFAULTS['kubernetes']['image']}]"
    ),
)
@click.option("--namespace", help="Kubernetes: the namespace of the manifests.  [default: none, kubectl's current one]")
@click.option(
    "--queue-workers",
    metavar="N",
    help=(
        "Kubernetes: also write k8s/bassi-queue-worker.yaml, a CronJob whose Job runs N pods of "
        "'bassi execute --next --drain --ci' against the PostgreSQL queue (URL from the Secret bassi-queue, "
        "key url).  [default: 0, none]"
    ),
)
@click.option(
    "--queue-schedule",
    metavar="SCHEDULE",
    help=(
        "Kubernetes: when the queue workers start, in bassi's schedule language, in UTC.  "
        f"[default: {DEFAULTS['kubernetes']['queue-schedule']}]"
    ),
)
def ci_generate(
    tasks_dir: Path,
    target: str,
    out: Path,
    check: bool,
    action: str | None,
    install_command: str | None,
    gitlab_image: str | None,
    gitlab_ref: str | None,
    image: str | None,
    namespace: str | None,
    queue_workers: str | None,
    queue_schedule: str | None,
) -> int:
    """Generate one CI pipeline per task (GitHub workflows, a GitLab include, Jenkinsfiles,
    Kubernetes CronJobs).

    Only files that bassi generated are ever overwritten or removed; files of
    deleted tasks are removed.

    The options --action, --install-command, --gitlab-image, --gitlab-ref, --image, --namespace,
    --queue-workers and --queue-schedule that differ from their defaults are remembered per target
    in OUT/.bassi/ci-generate.yaml (commit it): a later generate or --check without them uses the
    remembered ones, and an option given again replaces its remembered value.

    Task files must lie inside the repository (OUT), and a task's workdir must be
    relative: a CI runner has only the repository's checkout.
    """
    given = {
        "action": action,
        "install-command": install_command,
        "gitlab-image": gitlab_image,
        "gitlab-ref": gitlab_ref,
        "image": image,
        "namespace": namespace,
        "queue-workers": queue_workers,
        "queue-schedule": queue_schedule,
    }
    options = GenerateOptions(target=target, given={name: value for name, value in given.items() if value is not None})
    result = generate(TaskFolder(tasks_dir, named_by="--tasks-dir"), out, options, check=check)
    plan = result.plan
    if check:
        for file, reason in plan.writes:
            output.echo(f"{file.path}: {reason}")
        for path in plan.removals:
            output.echo(f"{path}: stale (its task is gone)")
        if plan.changes:
            output.note("Generated CI files are out of date; run 'bassi ci generate'.")
            return ExitCode.FAILED
        output.echo(f"{len(plan.unchanged)} generated file(s) up to date.")
        return ExitCode.SUCCESS
    for file, reason in plan.writes:
        output.echo(f"wrote {file.path} ({'new' if reason == 'missing' else 'updated'})")
    for path in plan.removals:
        output.echo(f"removed {path} (its task is gone)")
    if result.options_file is not None:
        output.echo(f"wrote {result.options_file} (the options to generate with from now on)")
    if not plan.changes:
        output.echo(f"{len(plan.unchanged)} generated file(s) already up to date.")
    for note in result.notes:
        output.note(note)
    return ExitCode.SUCCESS
