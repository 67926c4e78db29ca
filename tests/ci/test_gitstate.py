"""The git-state fingerprint: what can make git run a program changes it; ordinary work does not."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bassi_ci.ci.gitstate import GitConfigChanged, check_unchanged, git_state, state_token
from tests.ci.helpers import clone, git

Change = Callable[[Path], None]


def hook(work: Path) -> None:
    (work / ".git" / "hooks" / "pre-push").write_text("#!/bin/sh\n")


def hook_mode(work: Path) -> None:
    path = work / ".git" / "hooks" / "pre-push"
    path.write_text("#!/bin/sh\n")
    before = git_state(work)  # the content stays, only the mode changes after this
    path.chmod(0o755)
    assert git_state(work) != before


def nested_attributes(work: Path) -> None:
    (work / "deep" / "er").mkdir(parents=True)
    (work / "deep" / "er" / ".gitattributes").write_text("* filter=x\n")


def gitdir_file(work: Path) -> None:
    os.rename(work / ".git", work / "real-git")
    (work / ".git").write_text("gitdir: real-git\n")


def global_config(work: Path) -> None:
    Path(os.environ["HOME"], ".gitconfig").write_text("[core]\n\tsshCommand = evil\n")


def xdg_attributes(work: Path) -> None:
    folder = Path(os.environ["HOME"], ".config", "git")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "attributes").write_text("* filter=x\n")


def included_file(work: Path) -> None:
    (work.parent / "inc").write_text("[core]\n\tpager = a\n")


CHANGES: dict[str, Change] = {
    "config": lambda work: git(work, "config", "core.sshCommand", "evil"),
    "hook": hook,
    "hook-mode": hook_mode,
    "info-attributes": lambda work: (work / ".git" / "info" / "attributes").write_text("* filter=x\n"),
    "worktree-attributes": lambda work: (work / ".gitattributes").write_text("* filter=x\n"),
    "nested-attributes": nested_attributes,
    "gitmodules": lambda work: (work / ".gitmodules").write_text('[submodule "x"]\n\tpath = x\n'),
    "hooks-symlink": lambda work: (work / ".git" / "hooks" / "post-commit").symlink_to("/bin/true"),
    "gitdir-file": gitdir_file,
    "global-config": global_config,
    "xdg-attributes": xdg_attributes,
}


@pytest.fixture
def work(remote: Path, tmp_path: Path) -> Path:
    return clone(remote, tmp_path / "work")


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_each_change_that_can_run_a_program_is_seen(work: Path, name: str) -> None:
    before = git_state(work)
    CHANGES[name](work)
    with pytest.raises(GitConfigChanged, match="refusing to commit back"):
        check_unchanged(before, work)
    with pytest.raises(GitConfigChanged):
        check_unchanged(state_token(before), work)


def test_a_change_to_a_file_an_existing_include_names_is_seen(work: Path) -> None:
    (work.parent / "inc").write_text("[core]\n\tpager = less\n")
    git(work, "config", "include.path", "../../inc")
    before = git_state(work)
    included_file(work)
    with pytest.raises(GitConfigChanged, match="include:"):
        check_unchanged(before, work)


def test_ordinary_work_changes_nothing(work: Path) -> None:
    before = git_state(work)
    (work / "reports").mkdir()
    (work / "reports" / "week.md").write_text("report\n")
    (work / "README.md").write_text("edited\n")
    git(work, "add", "reports")  # the index and objects change; the state does not
    check_unchanged(before, work)
    check_unchanged(state_token(before), work)
    assert state_token(before) == state_token(git_state(work))


def test_a_commit_the_agent_made_is_seen(work: Path) -> None:
    """commit-back pushes HEAD: a commit of the agent's would go out with bassi's own."""
    before = git_state(work)
    (work / "x.txt").write_text("x\n")
    git(work, "add", "x.txt")
    git(work, "commit", "-q", "-m", "harmless")
    with pytest.raises(GitConfigChanged, match="HEAD"):
        check_unchanged(before, work)


def test_a_repository_nested_in_the_tree_is_seen(work: Path) -> None:
    before = git_state(work)
    git(work, "init", "-q", "reports/sub")
    with pytest.raises(GitConfigChanged, match=r"reports/sub/\.git"):
        check_unchanged(before, work)
