"""`bassi ci commit`: commit the files a run changed (only those it may) and push them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from bassi_ci import output
from bassi_ci.ci.commit import commit_back
from bassi_ci.ci.request import (
    BOT_EMAIL,
    BOT_NAME,
    GITHUB_TOKEN_USER,
    build_commit_request,
    commit_paths,
    discarded_note,
    keeps_failed_work,
)
from bassi_ci.errors import ExitCode, RunFailed, UsageError
from bassi_ci.procguard import hide_from_same_user
from bassi_ci.tasks.loader import load_task_file
from bassi_ci.tasks.model import ON_FAILURE_CHOICES, Task
from bassi_ci.tasks.templating import parse_vars


@click.command(name="commit")
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
    help="JSON result of the run: gives {run_id} and the pull request's summary; a run that did not "
    "succeed commits nothing, or with --on-failure branch pushes its work to bassi/<task_id>/<run_id>.",
)
@click.option(
    "--on-failure",
    type=click.Choice(ON_FAILURE_CHOICES),
    default=None,
    help="What to do with the changes of a --result that failed, timed out, hit a limit or was "
    "interrupted: discard them, or push them to the side branch bassi/<task_id>/<run_id> and exit "
    "with the run's exit code. Default: the --task's commit.on_failure, else discard.",
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
@click.option("--author-name", default=BOT_NAME, show_default=True, help="Commit author and committer name.")
@click.option(
    "--author-email",
    default=BOT_EMAIL,
    show_default=True,
    help="Commit author and committer e-mail.",
)
@click.option(
    "--git-state",
    metavar="STATE",
    help="What 'bassi ci git-state' printed before the run: refuse (exit 1) when the repository's git "
    "configuration, hooks or attribute files changed since.",
)
@click.option(
    "--push-token-env",
    metavar="NAME",
    help="Environment variable holding the token to push with; bassi removes it from its environment "
    "and hands it to git push/fetch alone, as an HTTP Authorization header.",
)
@click.option(
    "--push-user",
    default=GITHUB_TOKEN_USER,
    show_default=True,
    help="User name that goes with the push token (GitLab project tokens: oauth2).",
)
@click.option("--push-user-env", metavar="NAME", help="Environment variable holding that user name instead.")
def ci_commit(
    paths: tuple[str, ...],
    message: str | None,
    branch: str | None,
    create_pull_request: bool,
    task_file: Path | None,
    result_file: Path | None,
    on_failure: str | None,
    task_id: str | None,
    run_id: str | None,
    vars_: tuple[str, ...],
    repo: Path,
    author_name: str,
    author_email: str,
    git_state: str | None,
    push_token_env: str | None,
    push_user: str,
    push_user_env: str | None,
) -> int:
    """Commit the changed files under PATHS and push them (rebasing and retrying, never forcing).

    Files outside PATHS are never staged; nothing changed means no commit. A file that
    looks like a credential (or a name such as .env, or the value of a secret
    environment variable) stops the commit with exit 1.
    """
    hide_from_same_user()  # the push token stays in /proc/<pid>/environ: not for other processes to read
    credential = push_credential(push_token_env, push_user, push_user_env)  # first: out of the environment
    task = load_task_file(task_file) if task_file is not None else None
    result = _read_result(result_file) if result_file is not None else None
    keep_failed_work = _keeps_failed_work(task, result, result_file, on_failure)
    if result is not None:
        run_id = run_id or str(result.get("run_id") or "manual")
    globs = tuple(part.strip() for item in paths for part in item.replace(",", "\n").splitlines() if part.strip())
    globs = commit_paths(task, globs, missing="give --paths (or a --task with commit.paths)")
    outcome = commit_back(
        build_commit_request(
            task,
            repo=repo,
            paths=globs,
            message=message,
            branch=branch,
            pull_request=create_pull_request,
            task_id=task_id or (task.id if task else "adhoc"),
            run_id=run_id or "manual",
            cli_vars=parse_vars(vars_),
            run_result=result,
            keep_failed_work=keep_failed_work,
            author_name=author_name,
            author_email=author_email,
            push_token=credential[0],
            push_user=credential[1],
            server_url="",  # the remote's own host
            git_state=git_state,
            guarded_files=(task_file,) if task_file is not None else (),
        )
    )
    output.note(outcome.note)
    output.echo(f"commit-sha={outcome.sha}")
    if outcome.pull_request_url:
        output.echo(f"pull-request-url={outcome.pull_request_url}")
    if outcome.work_branch:
        output.echo(f"work-branch={outcome.work_branch}")
    # The work is safe, but the run still failed: the job fails as the run did.
    return _run_exit_code(result) if keep_failed_work and result is not None else int(ExitCode.SUCCESS)


def push_credential(token_env: str | None, user: str, user_env: str | None) -> tuple[str, str]:
    """(token, user) taken out of this process's environment, so that no process bassi starts
    (git add runs filters, gh) sees them; commit-back gives them to git push/fetch alone."""
    if token_env is None:
        if user_env is not None:
            raise UsageError("--push-user-env goes with --push-token-env")
        return "", user
    token = os.environ.pop(token_env, "").strip()
    if user_env is not None:
        user = os.environ.pop(user_env, "").strip() or user
    if not token:
        raise UsageError(
            f"--push-token-env {token_env}: the variable is not set; set it to a token that may push "
            "(GitLab: a masked CI/CD variable with a project access token with write_repository; "
            "Jenkins: the credential bound around this step)"
        )
    return token, user


def _read_result(path: Path) -> dict[str, object]:
    """The run's JSON result document (a UsageError when it is not one)."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as problem:
        raise UsageError(f"--result {path}: cannot read the run's JSON result: {problem}") from None
    if not isinstance(result, dict):
        raise UsageError(f"--result {path}: not a bassi result (expected a JSON object)")
    return result


def _keeps_failed_work(
    task: Task | None, result: dict[str, object] | None, path: Path | None, on_failure: str | None
) -> bool:
    """False for a successful run (or none given); True when a failed run's work goes to its side
    branch; a RunFailed (exit 1, nothing committed) when it is discarded."""
    status = str(result.get("status")) if result is not None else "success"
    if status == "success":
        return False
    if not keeps_failed_work(task, status, on_failure):
        raise RunFailed(discarded_note(status, f" in {path}"))
    return True


def _run_exit_code(result: dict[str, object]) -> int:
    """The exit code the run ended with (1 when the result names none, or success's)."""
    code = result.get("exit_code")
    known = ExitCode.known(code) if isinstance(code, int) and not isinstance(code, bool) else None
    return int(known) if known not in (None, ExitCode.SUCCESS) else int(ExitCode.FAILED)
