"""`bassi ci …`: generate CI pipelines from task files, commit results back, run the action.

Each sub-command has its module, imported only when it runs: `ci generate` never loads git.
"""

from __future__ import annotations

import click

from bassi_ci.commands.lazy import LazyCommand, LazyGroup

COMMANDS = {
    "generate": LazyCommand(
        "bassi_ci.commands.ci_generate:ci_generate",
        "Generate one CI pipeline per task (GitHub workflows, a GitLab include, Jenkinsfiles, Kubernetes CronJobs).",
    ),
    "commit": LazyCommand(
        "bassi_ci.commands.ci_commit:ci_commit",
        "Commit the changed files under PATHS and push them (rebasing and retrying, never forcing).",
    ),
    "git-state": LazyCommand(
        "bassi_ci.commands.ci_git_state:ci_git_state",
        "Print the fingerprint of the repository's git configuration, hooks and attribute files.",
    ),
    "action-run": LazyCommand("bassi_ci.commands.ci_action:ci_action_run", None),
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
def ci() -> None:
    """Run tasks in CI: generate pipelines, commit results back."""
