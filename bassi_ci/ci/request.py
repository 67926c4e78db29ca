"""What one commit-back is asked to do: which paths, what message, which branch, whose token.

Pure: `bassi ci commit` and the action build their CommitRequest here from a task's
`commit:` settings and their own options; bassi_ci.ci.commit then carries it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bassi_ci import clock
from bassi_ci.ci.gitstate import GitState
from bassi_ci.errors import UsageError
from bassi_ci.tasks.model import DEFAULT_COMMIT_MESSAGE, Task
from bassi_ci.tasks.templating import builtin_variables, expand, merge_variables

BOT_NAME = "bassi[bot]"
BOT_EMAIL = "bassi-bot@users.noreply.github.com"
PUSH_ATTEMPTS = 3
DEFAULT_SERVER_URL = "https://github.com"
GITHUB_TOKEN_USER = "x-access-token"  # GitHub's user name for a workflow token


@dataclass(frozen=True)
class CommitRequest:
    repo: Path
    paths: tuple[str, ...]
    message: str  # already expanded
    branch: str | None = None  # push target; the new branch with pull_request
    pull_request: bool = False
    author_name: str = BOT_NAME
    author_email: str = BOT_EMAIL
    remote: str = "origin"
    attempts: int = PUSH_ATTEMPTS
    pr_branch_suffix: str = "run"  # names the PR branch when `branch` is not given
    # Template variables for the paths ({date}, {task_id}, …); None: the paths are taken literally.
    variables: Mapping[str, str] | None = None
    # The push credential (the workflow's token, a project access token, a Jenkins credential): an
    # Authorization header of the `git push`/`git fetch` processes (push_config_env) and GH_TOKEN of
    # `gh pr create`, nothing else; never in .git/config, never shown in a repr.
    push_token: str = field(default="", repr=False)
    push_user: str = GITHUB_TOKEN_USER  # the HTTP basic user name that goes with the token
    server_url: str = DEFAULT_SERVER_URL  # the host the header is sent to; "": the remote's own
    # The repository's git state before the run (gitstate.git_state, or its token): commit-back
    # refuses when it changed. None: nothing to compare with (commit-back outside a run).
    git_state: GitState | str | None = field(default=None, repr=False)
    # Files commit-back took its settings from (the --task file): with a git_state they must be
    # as committed in HEAD, since the agent could have rewritten them.
    guarded_files: tuple[Path, ...] = ()


def commit_variables(task: Task | None, task_id: str, run_id: str, cli_vars: Mapping[str, str]) -> dict[str, str]:
    """Template variables of commit-back: the built-ins, then the task's vars, then the given ones."""
    builtins = builtin_variables(
        task_id=task_id, run_id=run_id, now=clock.now(), zone=task.timezone if task else None, last_run=None
    )
    return merge_variables(builtins, task.vars if task else {}, cli_vars)


def commit_paths(task: Task | None, given: Sequence[str], *, missing: str) -> tuple[str, ...]:
    """The paths to commit: the given ones, else the task's commit.paths; none is a UsageError(`missing`)."""
    paths = tuple(given) or (task.commit.paths if task and task.commit else ())
    if not paths:
        raise UsageError(missing)
    return paths


def build_commit_request(
    task: Task | None,
    *,
    repo: Path,
    paths: tuple[str, ...],
    message: str | None,
    branch: str | None,
    pull_request: bool,
    task_id: str,
    run_id: str,
    cli_vars: Mapping[str, str],
    **extra: Any,
) -> CommitRequest:
    """Commit-back of one run (`bassi ci commit` and the action): the given settings, each falling
    back to the task's `commit:`; message and branch are expanded with the commit variables.
    `extra` holds the caller's own CommitRequest fields (author, token, server)."""
    settings = task.commit if task else None
    variables = commit_variables(task, task_id, run_id, cli_vars)
    text = expand(
        message or (settings.message if settings else DEFAULT_COMMIT_MESSAGE), variables, where="commit message"
    )
    target = branch or (settings.branch if settings else None)
    return CommitRequest(
        repo=repo,
        paths=paths,
        message=text,
        branch=expand(target, variables, where="branch") if target else None,
        pull_request=pull_request or bool(settings and settings.pull_request),
        pr_branch_suffix=f"{task_id}-{run_id}",
        variables=variables,
        **extra,
    )
