"""GitLab CI: one file, `.gitlab/bassi.gitlab-ci.yml`, with one job per task.

GitLab keeps schedules outside the repository (pipeline schedules), so each job
runs only in a scheduled pipeline whose BASSI_TASK variable names its task; the
file's header lists the `glab schedule create` command that creates each schedule.
Include it from `.gitlab-ci.yml` with `include: {local: .gitlab/bassi.gitlab-ci.yml}`.

A job runs its task file by path, so tasks in any --tasks-dir are found. A task with
`commit:` notes the repository's git state before the run and gets a commit-back line
after it, which runs after a failed run too (with `commit.on_failure: branch` the work goes
to bassi/<task_id>/<run_id>); the job then fails with the run's exit code. The push uses a
project access token from the CI/CD variable BASSI_PUSH_TOKEN, which `bassi ci commit` hands
to git push/fetch alone (never to the agent, to other git commands, or to .git/config), and
with `pull_request: true` to GitLab's REST API to open the merge request (scope `api`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from bassi_ci.generators.common import (
    COMMIT_RC,
    DEFAULT_INSTALL,
    EXIT_AS_THE_RUN,
    GIT_STATE_VAR,
    JUNIT_FILE,
    PUSH_TOKEN_VAR,
    RESULT_FILE,
    RUN_RC,
    commit_command,
    execute_command,
    git_state_command,
    job_timeout_minutes,
    keeping_exit_code,
)
from bassi_ci.generators.cron import task_cron
from bassi_ci.generators.files import GeneratedFile, Rendering, dump_yaml, marker_line, one_line
from bassi_ci.tasks.model import Task

GITLAB_FILE = ".gitlab/bassi.gitlab-ci.yml"
# The full image: it has git, which commit-back needs (the -slim one has none).
DEFAULT_IMAGE = "python:3.12"
PUSH_USER = "oauth2"  # the user name GitLab takes with a project access token


@dataclass(frozen=True)
class GitlabOptions:
    install_command: str = DEFAULT_INSTALL
    image: str | None = DEFAULT_IMAGE  # None: the runner's default (shell executors)
    ref: str = "main"  # branch the printed schedule commands point at


def job_name(task_id: str) -> str:
    return f"bassi-{task_id}"


def render_gitlab(tasks: list[Task], options: GitlabOptions, source: str, sources: dict[str, str]) -> Rendering:
    """`sources` maps each task id to its task file, relative to the repository root."""
    jobs = {job_name(task.id): job_data(task, options, sources.get(task.id, task.id)) for task in tasks}
    commands = schedule_commands(tasks, options)
    header = [
        marker_line("#", source),
        "#",
        f"# Include it from .gitlab-ci.yml:  include: {{local: {GITLAB_FILE}}}",
        "# Each job runs only in a scheduled pipeline whose BASSI_TASK variable names its task.",
        "# Store the API key as a masked CI/CD variable ANTHROPIC_API_KEY. Create the schedules with:",
        "#",
    ]
    header += [f"#   {one_line(command)}" for command in commands] or ["#   (no task has an active schedule)"]
    committing = [task.id for task in tasks if task.commit is not None]
    notes: tuple[str, ...] = ("Create the GitLab pipeline schedules with:", *commands) if commands else ()
    if committing:
        # A merge request is opened through GitLab's REST API, which write_repository alone does not reach.
        scopes = "scopes write_repository and api" if _opens_merge_requests(tasks) else "scope write_repository"
        push_note = (
            f"Tasks with commit: ({', '.join(committing)}) push back with a project access token "
            f"(role Developer or higher, {scopes}) stored as the masked CI/CD variable "
            f"{PUSH_TOKEN_VAR}."
        )
        header += ["#", f"# {one_line(push_note)}"]
        notes += (push_note,)
    text = "\n".join(header) + "\n" + (dump_yaml(jobs) if jobs else "{}\n")
    files = (GeneratedFile(path=GITLAB_FILE, text=text),) if tasks else ()
    return Rendering(files=files, owned_globs=(GITLAB_FILE,), notes=notes)


def _opens_merge_requests(tasks: list[Task]) -> bool:
    return any(task.commit is not None and task.commit.pull_request for task in tasks)


def job_data(task: Task, options: GitlabOptions, task_file: str) -> dict[str, Any]:
    script = [options.install_command, *run_lines(task, task_file)]
    job: dict[str, Any] = {}
    if options.image:
        job["image"] = options.image
    job.update(
        {
            "rules": [{"if": f'$CI_PIPELINE_SOURCE == "schedule" && $BASSI_TASK == "{task.id}"'}],
            "resource_group": f"bassi-{task.id}",
            "interruptible": False,
            "timeout": f"{job_timeout_minutes(task)} minutes",
            "script": script,
            "artifacts": {
                "when": "always",
                "paths": [RESULT_FILE, JUNIT_FILE],
                "reports": {"junit": JUNIT_FILE},
                "expire_in": "30 days",
            },
        }
    )
    return job


def run_lines(task: Task, task_file: str) -> list[str]:
    """The script after the install: the run alone, or for a task with `commit:` the git state, the
    run (its exit code kept), commit-back, and the exit with the run's code."""
    run = execute_command(task_file)
    if task.commit is None:
        return [run]
    commit = commit_command(task_file, f"--push-user {PUSH_USER}")
    # The checkout is a detached HEAD: push to the branch the schedule runs on, unless the task names
    # one; a merge request's branch is a new one, and it targets CI_COMMIT_BRANCH by itself.
    if task.commit.branch is None and not task.commit.pull_request:
        commit += ' --branch "$CI_COMMIT_BRANCH"'
    return [
        f'{GIT_STATE_VAR}="$({git_state_command()})"',
        # The push token is a job-wide variable: keep it out of the agent's environment at least.
        keeping_exit_code(f"env -u {PUSH_TOKEN_VAR} {run}", RUN_RC),
        keeping_exit_code(commit, COMMIT_RC),
        EXIT_AS_THE_RUN,
    ]


def schedule_commands(tasks: list[Task], options: GitlabOptions) -> list[str]:
    """One `glab schedule create` per enabled, scheduled task (paused tasks get none)."""
    commands = []
    for task in tasks:
        cron = task_cron(task)
        if cron is None:
            continue
        args = [
            "glab",
            "schedule",
            "create",
            "--description",
            f"bassi: {task.id}",
            "--ref",
            options.ref,
            "--cron",
            cron.expression,
            "--cronTimeZone",
            cron.timezone,
            "--variable",
            f"BASSI_TASK:{task.id}",
        ]
        commands.append(shlex.join(args))
    return commands
