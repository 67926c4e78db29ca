"""What the GitLab and Jenkins jobs (and, for the time limit, the GitHub workflows) share.

The job runs `bassi execute … --ci --junit` into two fixed files, then, for a task with
`commit:`, `bassi ci commit` with the task file and the result. Pure text; no git here.

A failed run must not stop the job before commit-back: with `commit.on_failure: branch` its work
goes to a side branch. So the run keeps its exit code (`… || run_rc=$?`), commit-back always runs
and decides from the result file (a failed run with `discard` commits nothing and says so), and
the job ends with the run's exit code, else commit-back's.
"""

from __future__ import annotations

import math
import shlex

from bassi_ci.generators.files import GenerateError
from bassi_ci.tasks.model import Task

RESULT_FILE = "bassi-result.json"
JUNIT_FILE = "bassi-junit.xml"
DEFAULT_INSTALL = "pip install bassi-ci"
BASSI = "bassi"  # the program as the job calls it (Jenkins: by its path in the job's venv)
# Room for checkout and installing bassi on top of the task's own wall-clock limit.
TIMEOUT_MARGIN_MIN = 5


def job_timeout_minutes(task: Task) -> int:
    """The CI job's time limit: the task's own, rounded up to whole minutes, plus the margin."""
    return math.ceil(task.limits.timeout_s / 60) + TIMEOUT_MARGIN_MIN


def execute_command(task_file: str, bassi: str = BASSI) -> str:
    """The run: the task file by path, the JSON result and the JUnit report into their files."""
    return f"{bassi} execute {shlex.quote(task_file)} --ci --junit {JUNIT_FILE} > {RESULT_FILE}"


# Before the run, the job keeps the repository's git state in this variable, a value the agent
# cannot change; commit-back refuses when the agent changed what can make git run programs.
GIT_STATE_VAR = "BASSI_GIT_STATE"
PUSH_TOKEN_VAR = "BASSI_PUSH_TOKEN"


def git_state_command(bassi: str = BASSI) -> str:
    return f"{bassi} ci git-state"


def commit_command(task_file: str, push_user: str, bassi: str = BASSI) -> str:
    """Commit-back after a run: paths, message, branch and vars come from the task file at run time;
    the push token reaches git push/fetch alone (bassi takes it out of its environment)."""
    return (
        f"{bassi} ci commit --task {shlex.quote(task_file)} --result {RESULT_FILE} "
        f'--git-state "${GIT_STATE_VAR}" --push-token-env {PUSH_TOKEN_VAR} {push_user}'
    )


# Shell variables of the job's script: the run's exit code and commit-back's.
RUN_RC = "run_rc"
COMMIT_RC = "commit_rc"


def keeping_exit_code(command: str, variable: str) -> str:
    """`command`, its exit code kept in `variable` instead of ending the job (`set -e` shells)."""
    return f"{variable}=0; {command} || {variable}=$?"


# The job fails as the run did (timeout: 4, …); after a successful run, as commit-back did.
EXIT_AS_THE_RUN = f'if [ "${RUN_RC}" -ne 0 ]; then exit "${RUN_RC}"; fi; exit "${COMMIT_RC}"'


def check_commit_supported(task: Task, target: str) -> None:
    """Pull requests need GitHub's `gh` or GitLab's API; saying so beats pushing straight to the branch."""
    if task.commit is not None and task.commit.pull_request:
        raise GenerateError(
            f"task '{task.id}': commit.pull_request is only supported with --target github or gitlab; "
            f"{target} jobs push to the branch: remove pull_request (and set commit.branch to push elsewhere)"
        )
