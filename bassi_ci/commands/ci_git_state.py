"""`bassi ci git-state`: fingerprint what makes git run programs here, before an agent runs."""

from __future__ import annotations

from pathlib import Path

import click

from bassi_ci import output
from bassi_ci.ci.gitstate import git_state, state_token, worktree_of
from bassi_ci.errors import UsageError


@click.command(name="git-state")
@click.option(
    "--repo",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Repository (or a folder inside it).",
)
def ci_git_state(repo: Path) -> None:
    """Print the fingerprint of the repository's git configuration, hooks and attribute files.

    Give it to 'bassi ci commit --git-state' after the run: commit-back then refuses when the
    agent changed anything that can make git run a program with the push credential.
    """
    root = worktree_of(repo)
    if root is None:
        raise UsageError(f"{repo}: not inside a git repository")
    output.echo(state_token(git_state(root)))
