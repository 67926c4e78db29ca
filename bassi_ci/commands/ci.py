"""`bassi ci …`: generate CI pipelines from task files, commit results back, run the action."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bassi_ci import output
from bassi_ci.errors import ExitCode, RunFailed, UsageError

if TYPE_CHECKING:
    from bassi_ci.tasks.model import Task


@click.group()
def ci() -> None:
    """Run tasks in CI: generate pipelines, commit results back."""


@ci.command(name="generate")
@click.option(
    "--tasks-dir",
    default=".bassi/tasks",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder of task files.",
)
@click.option(
    "--target",
    type=click.Choice(["github", "gitlab", "jenkins"]),
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
@click.option("--action", default="bassi/run@v1", show_default=True, help="GitHub: the action the workflows use.")
@click.option(
    "--install-command",
    default="pip install bassi-ci",
    show_default=True,
    help="GitLab/Jenkins: the command that installs bassi in the job.",
)
@click.option(
    "--gitlab-image",
    default="python:3.12-slim",
    show_default=True,
    help="GitLab: job image ('' for the runner's default).",
)
@click.option("--gitlab-ref", default="main", show_default=True, help="GitLab: branch of the printed schedules.")
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
    from bassi_ci.generators.generate import GenerateOptions, generate
    from bassi_ci.tasks.lookup import TaskFolder

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


@ci.command(name="commit")
@click.option(
    "--paths",
    "paths",
    multiple=True,
    metavar="GLOB",
    help="Path or glob that may be committed (repeatable; newline- or comma-separated lists work too; "
    "template variables are expanded). Default: the --task's commit.paths.",
)
@click.option(
    "--message",
    default=None,
    help="Commit message; template variables such as {date} {task_id} {run_id} are expanded. "
    "Default: the --task's commit.message, else 'bassi: {task_id} results of {date}'.",
)
@click.option(
    "--branch",
    help="Branch to push to (default: the --task's commit.branch, else the current one); "
    "with a pull request: its new branch.",
)
@click.option("--create-pull-request", is_flag=True, help="Push to a new branch and open a pull request with gh.")
@click.option(
    "--task",
    "task_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Task file whose commit settings and vars are used (options given here override them).",
)
@click.option(
    "--result",
    "result_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON result of the run: gives {run_id}; nothing is committed unless its status is success.",
)
@click.option("--task-id", default=None, help="Value of {task_id} (default: the --task's id, else 'adhoc').")
@click.option("--run-id", default=None, help="Value of {run_id} (default: the --result's run_id, else 'manual').")
@click.option("--var", "vars_", multiple=True, metavar="KEY=VALUE", help="Template variable (repeatable).")
@click.option(
    "--repo",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Repository to commit in.",
)
@click.option("--author-name", default="bassi[bot]", show_default=True, help="Commit author and committer name.")
@click.option(
    "--author-email",
    default="bassi-bot@users.noreply.github.com",
    show_default=True,
    help="Commit author and committer e-mail.",
)
def ci_commit(
    paths: tuple[str, ...],
    message: str | None,
    branch: str | None,
    create_pull_request: bool,
    task_file: Path | None,
    result_file: Path | None,
    task_id: str | None,
    run_id: str | None,
    vars_: tuple[str, ...],
    repo: Path,
    author_name: str,
    author_email: str,
) -> None:
    """Commit the changed files under PATHS and push them (rebasing and retrying, never forcing).

    Files outside PATHS are never staged; nothing changed means no commit. A file that
    looks like a credential (or a name such as .env, or the value of a secret
    environment variable) stops the commit with exit 1.
    """
    from bassi_ci.ci.commit import commit_back
    from bassi_ci.ci.request import build_commit_request, commit_paths
    from bassi_ci.runs.templating import parse_vars

    task = _load_task(task_file) if task_file is not None else None
    if result_file is not None:
        run_id = run_id or _successful_run_id(result_file)
    globs = tuple(part.strip() for item in paths for part in item.replace(",", "\n").splitlines() if part.strip())
    globs = commit_paths(task, globs, missing="give --paths (or a --task with commit.paths)")
    the_task_id = task_id or (task.id if task else "adhoc")
    the_run_id = run_id or "manual"
    outcome = commit_back(
        build_commit_request(
            task,
            repo=repo,
            paths=globs,
            message=message,
            branch=branch,
            pull_request=create_pull_request,
            task_id=the_task_id,
            run_id=the_run_id,
            cli_vars=parse_vars(vars_),
            author_name=author_name,
            author_email=author_email,
        )
    )
    output.note(outcome.note)
    output.echo(f"commit-sha={outcome.sha}")
    if outcome.pull_request_url:
        output.echo(f"pull-request-url={outcome.pull_request_url}")


def _load_task(path: Path) -> Task:
    from bassi_ci.tasks.loader import load_task_file

    return load_task_file(path)


def _successful_run_id(path: Path) -> str:
    """The run_id of a result file; a run that did not succeed has nothing to commit (exit 1)."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as problem:
        raise UsageError(f"--result {path}: cannot read the run's JSON result: {problem}") from None
    if not isinstance(result, dict):
        raise UsageError(f"--result {path}: not a bassi result (expected a JSON object)")
    if result.get("status") != "success":
        raise RunFailed(f"not committing: the run in {path} ended with status {result.get('status')}")
    return str(result.get("run_id") or "manual")


@ci.command(name="action-run", hidden=True)
def ci_action_run() -> int:
    """Run the `bassi run` GitHub Action from its BASSI_INPUT_* environment (used by action.yml)."""
    import os

    from bassi_ci.ci.action import GITHUB_TOKEN_VAR, github_output_text, run_action

    key = os.environ.get("BASSI_INPUT_ANTHROPIC_API_KEY", "").strip()
    if key:
        output.echo(f"::add-mask::{key}")
    token = os.environ.get(GITHUB_TOKEN_VAR, "").strip()
    if token:
        from bassi_ci.ci.commit import basic_credential

        # GitHub masks the token (a secret) itself, not the base64 form commit-back sends as a header.
        output.echo(f"::add-mask::{basic_credential(token)}")
    environ = dict(os.environ)
    # Keep the workflow token out of every process this one starts (git add runs the
    # repository's filters, which the agent may have written); run_action passes it to
    # git push/fetch explicitly.
    os.environ.pop(GITHUB_TOKEN_VAR, None)
    outcome = run_action(environ)
    for note in outcome.notes:
        output.echo(note)
    text = github_output_text(outcome.outputs())
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)
    else:
        output.echo(text)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and (outcome.commit_sha or outcome.pull_request_url):
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(f"\n**Commit-back:** {outcome.commit_sha or ''} {outcome.pull_request_url}\n")
    output.note(
        f"bassi: status {outcome.outputs()['status']}, exit code {outcome.exit_code}; result in {outcome.result_file}"
    )
    return outcome.exit_code
