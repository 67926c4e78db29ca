"""What one commit-back is asked to do: which paths, what message, which branch, whose token.

Pure: `bassi ci commit` and the action build their CommitRequest here from a task's
`commit:` settings and their own options; bassi_ci.ci.commit then carries it out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bassi_ci import clock
from bassi_ci.ci.gitstate import GitState
from bassi_ci.ci.prbody import review_body
from bassi_ci.errors import UsageError
from bassi_ci.tasks.model import DEFAULT_COMMIT_MESSAGE, Task
from bassi_ci.tasks.templating import builtin_variables, expand, merge_variables

BOT_NAME = "bassi[bot]"
BOT_EMAIL = "bassi-bot@users.noreply.github.com"
PUSH_ATTEMPTS = 3
DEFAULT_SERVER_URL = "https://github.com"
GITHUB_TOKEN_USER = "x-access-token"  # GitHub's user name for a workflow token

# Statuses of a run that ended early after its agent may have changed files: with
# `commit.on_failure: branch` their work goes to a side branch. Left out are the statuses where
# no agent ran (usage_error, auth_error, locked, idle, forbidden): files changed then are no
# run's work.
KEEP_WORK_STATUSES = frozenset({"failed", "timeout", "limit_reached", "api_error", "needs_input", "interrupted"})
# Each part of bassi/<task_id>/<run_id>: task ids are slugs and run ids `20270310T090000Z-a1b2c3`,
# but --task-id, --run-id and a result file can say anything, and a ref name must stay one.
_BRANCH_PART_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,99}\Z")


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
    # A run that did not succeed, with `on_failure: branch`: push its work here (a new branch,
    # never the checked-out one), with `pull_request` as a draft. None: an ordinary commit-back.
    side_branch: str | None = None
    run_status: str = "success"  # the run's status, for the note of a side branch
    review_body: str = ""  # the pull/merge request's body (prbody.review_body); "": a plain one


def commit_variables(task: Task | None, task_id: str, run_id: str, cli_vars: Mapping[str, str]) -> dict[str, str]:
    """Template variables of commit-back: the built-ins, then the task's vars, then the given ones."""
    builtins = builtin_variables(
        task_id=task_id, run_id=run_id, now=clock.now(), zone=task.timezone if task else None, last_run=None
    )
    return merge_variables(builtins, task.vars if task else {}, cli_vars)


def side_branch(task_id: str, run_id: str) -> str:
    """`bassi/<task_id>/<run_id>`, the branch a failed run's work goes to; a UsageError when
    either id could not be part of a safe ref name."""
    for what, value in (("task id", task_id), ("run id", run_id)):
        if not _BRANCH_PART_RE.match(value):
            raise UsageError(
                f"the {what} {value[:60]!r} cannot name the side branch bassi/<task_id>/<run_id>: "
                "use ASCII letters, digits, '-' and '_' (at most 100, starting with a letter or digit)"
            )
    return f"bassi/{task_id}/{run_id}"


def keeps_failed_work(task: Task | None, status: str, on_failure: str | None = None) -> bool:
    """Whether commit-back pushes the work of a run that ended with `status` to a side branch:
    `on_failure` (a command-line choice) or the task's commit.on_failure says `branch`."""
    choice = on_failure or (task.commit.on_failure if task and task.commit else "discard")
    return status in KEEP_WORK_STATUSES and choice == "branch"


def discarded_note(status: str, where: str = "") -> str:
    """Why nothing was committed after a run that did not succeed (`where`: e.g. " in FILE"), and
    how to keep such work."""
    note = f"not committing: the run{where} ended with status {status}"
    if status in KEEP_WORK_STATUSES:
        note += (
            "; its changes were discarded (set commit.on_failure: branch in the task to push such work "
            "to the side branch bassi/<task_id>/<run_id>)"
        )
    return note


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
    run_result: Mapping[str, Any] | None = None,
    keep_failed_work: bool = False,
    environ: Mapping[str, str] | None = None,
    **extra: Any,
) -> CommitRequest:
    """Commit-back of one run (`bassi ci commit` and the action): the given settings, each falling
    back to the task's `commit:`; message and branch are expanded with the commit variables.
    `run_result` (the run's result document) fills the pull request's body; with
    `keep_failed_work` the run did not succeed and its work goes to the side branch.
    `extra` holds the caller's own CommitRequest fields (author, token, server)."""
    settings = task.commit if task else None
    side = side_branch(task_id, run_id) if keep_failed_work else None
    status = str(run_result.get("status") or "failed") if run_result and side else "success"
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
        side_branch=side,
        run_status=status,
        review_body=review_body(run_result, os.environ if environ is None else environ, side or ""),
        **extra,
    )
