"""`bassi ci …`: generate CI pipelines from task files, commit results back, run the action.

Each sub-command has its module, imported only when it runs: `ci generate` never loads git.
"""

from __future__ import annotations

import click

from bassi_ci.commands.lazy import LazyGroup

COMMANDS = {
    "generate": "bassi_ci.commands.ci_generate:ci_generate",
    "commit": "bassi_ci.commands.ci_commit:ci_commit",
    "git-state": "bassi_ci.commands.ci_git_state:ci_git_state",
    "action-run": "bassi_ci.commands.ci_action:ci_action_run",
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
def ci() -> None:
    """Run tasks in CI: generate pipelines, commit results back."""
