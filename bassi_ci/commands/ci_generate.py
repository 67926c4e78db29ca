"""`bassi ci generate`: task files in, CI files out (or a drift report with --check)."""

from __future__ import annotations

from pathlib import Path

import click

from bassi_ci import output
from bassi_ci.errors import ExitCode
from bassi_ci.generators.generate import TARGETS, GenerateOptions, generate
from bassi_ci.generators.github import GithubOptions
from bassi_ci.generators.gitlab import GitlabOptions
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
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if regenerating would change any file.")
@click.option("--action", default=GithubOptions.action, show_default=True, help="GitHub: the action the workflows use.")
@click.option(
    "--install-command",
    default=GitlabOptions.install_command,
    show_default=True,
    help="GitLab/Jenkins: the command that installs bassi in the job.",
)
@click.option(
    "--gitlab-image",
    default=GitlabOptions.image,
    show_default=True,
    help="GitLab: job image ('' for the runner's default).",
)
@click.option(
    "--gitlab-ref", default=GitlabOptions.ref, show_default=True, help="GitLab: branch of the printed schedules."
)
def ci_generate(
    tasks_dir: Path,
    target: str,
    out: Path,
    check: bool,
    action: str,
    install_command: str,
    gitlab_image: str,
    gitlab_ref: str,
) -> int:
    """Generate one CI pipeline per task (GitHub workflows, a GitLab include, Jenkinsfiles).

    Only files that bassi generated are ever overwritten or removed; files of
    deleted tasks are removed.
    """
    options = GenerateOptions(
        target=target,
        action=action,
        install_command=install_command,
        gitlab_image=gitlab_image or None,
        gitlab_ref=gitlab_ref,
    )
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
    if not plan.changes:
        output.echo(f"{len(plan.unchanged)} generated file(s) already up to date.")
    for note in result.notes:
        output.note(note)
    return ExitCode.SUCCESS
