"""`bassi ci …`: generate CI pipelines from task files, commit results back, run the action."""

from __future__ import annotations

from pathlib import Path

import click

from bassi_ci import output
from bassi_ci.errors import ExitCode


@click.group()
def ci() -> None:
    """Run tasks in CI: generate pipelines, commit results back."""


@ci.command(name="generate")
@click.option("--tasks-dir", default=".bassi/tasks", show_default=True, type=click.Path(path_type=Path),
              help="Folder of task files.")
@click.option("--target", type=click.Choice(["github", "gitlab", "jenkins"]), default="github", show_default=True,
              help="CI system to generate for.")
@click.option("--out", default=".", show_default=True, type=click.Path(path_type=Path),
              help="Repository root the files are written under.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if regenerating would change any file.")
@click.option("--action", default="bassi/run@v1", show_default=True, help="GitHub: the action the workflows use.")
@click.option("--install-command", default="pip install bassi-ci", show_default=True,
              help="GitLab/Jenkins: the command that installs bassi in the job.")
@click.option("--gitlab-image", default="python:3.12-slim", show_default=True,
              help="GitLab: job image ('' for the runner's default).")
@click.option("--gitlab-ref", default="main", show_default=True, help="GitLab: branch of the printed schedules.")
def ci_generate(tasks_dir: Path, target: str, out: Path, check: bool, action: str, install_command: str,
                gitlab_image: str, gitlab_ref: str) -> int:
    """Generate one CI pipeline per task (GitHub workflows, a GitLab include, Jenkinsfiles).

    Only files that bassi generated are ever overwritten or removed; files of
    deleted tasks are removed.
    """
    from bassi_ci.generators.generate import GenerateOptions, generate

    options = GenerateOptions(target=target, action=action, install_command=install_command,
                              gitlab_image=gitlab_image or None, gitlab_ref=gitlab_ref)
    result = generate(tasks_dir, out, options, check=check)
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
@click.option("--paths", "paths", multiple=True, required=True, metavar="GLOB",
              help="Path or glob that may be committed (repeatable; newline- or comma-separated lists work too).")
@click.option("--message", default="bassi: {task_id} results of {date}", show_default=True,
              help="Commit message; template variables such as {date} {task_id} {run_id} are expanded.")
@click.option("--branch", help="Branch to push to (default: the current one); with a pull request: its new branch.")
@click.option("--create-pull-request", is_flag=True, help="Push to a new branch and open a pull request with gh.")
@click.option("--task-id", default="adhoc", show_default=True, help="Value of {task_id}.")
@click.option("--run-id", default="manual", show_default=True, help="Value of {run_id}.")
@click.option("--var", "vars_", multiple=True, metavar="KEY=VALUE", help="Template variable (repeatable).")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Repository to commit in.")
@click.option("--author-name", default="bassi[bot]", show_default=True, help="Commit author and committer name.")
@click.option("--author-email", default="bassi-bot@users.noreply.github.com", show_default=True,
              help="Commit author and committer e-mail.")
def ci_commit(paths: tuple[str, ...], message: str, branch: str | None, create_pull_request: bool, task_id: str,
              run_id: str, vars_: tuple[str, ...], repo: Path, author_name: str, author_email: str) -> None:
    """Commit the changed files under PATHS and push them (rebasing and retrying, never forcing).

    Files outside PATHS are never staged; nothing changed means no commit. A file that
    looks like a credential (or a name such as .env) stops the commit with exit 1.
    """
    from bassi_ci.commands.schedule import parse_vars
    from bassi_ci.generators.action import expand_message
    from bassi_ci.generators.commit import CommitRequest, commit_back

    globs = tuple(part.strip() for item in paths for part in item.replace(",", "\n").splitlines() if part.strip())
    text = expand_message(message, None, task_id, run_id, parse_vars(vars_))
    outcome = commit_back(CommitRequest(
        repo=repo, paths=globs, message=text, branch=branch, pull_request=create_pull_request,
        author_name=author_name, author_email=author_email, pr_branch_suffix=f"{task_id}-{run_id}",
    ))
    output.note(outcome.note)
    output.echo(f"commit-sha={outcome.sha}")
    if outcome.pull_request_url:
        output.echo(f"pull-request-url={outcome.pull_request_url}")


@ci.command(name="action-run", hidden=True)
def ci_action_run() -> int:
    """Run the `bassi run` GitHub Action from its BASSI_INPUT_* environment (used by action.yml)."""
    import os

    from bassi_ci.generators.action import github_output_text, run_action

    key = os.environ.get("BASSI_INPUT_ANTHROPIC_API_KEY", "").strip()
    if key:
        output.echo(f"::add-mask::{key}")
    outcome = run_action(os.environ)
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
    output.note(f"bassi: status {outcome.outputs()['status']}, exit code {outcome.exit_code}; "
                f"result in {outcome.result_file}")
    return outcome.exit_code
