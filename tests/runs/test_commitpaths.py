"""What bassi says about commit paths agrees with git: `matches` against git's own `:(glob)` pathspecs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bassi_ci.runs.commitpaths import matches, repository_root, run_commit_note, unchanged_note

FILES = (
    "reports/x.md",
    "reports/sub/y.md",
    "reports/sub/deep/z.txt",
    "a/reports/z.md",
    "docs/r.txt",
    "top.md",
    "reportsX.md",
    ".bassi/tasks/reports/w.md",
    "name with space.md",
    "b]r/q.md",
)

PATTERNS = (
    "reports",
    "reports/",
    "./reports",
    "reports/*",
    "reports/*.md",
    "rep*",
    "reports/**",
    "reports/***",
    "**/reports",
    "**/reports/*.md",
    "**/reports/**",
    "**/*.md",
    "*.md",
    "reports/**/y.md",
    "reports/**/*.md",
    "a/**/z.md",
    "re?orts/x.md",
    "re?orts",
    "reports/sub/",
    "reports/s*/",
    "[rd]*/*",
    "[!r]*/*",
    "report",
    "**",
    "a**",
    ".",
    "name with space.md",
    "b]r/*",
    "top.m[a-d]",
    "r\\*ports/x.md",
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("globs")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for name in FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x\n")
    return root


def git_matches(repo: Path, pattern: str) -> set[str]:
    """The untracked files git's `:(glob)PATTERN` pathspec selects (as commit-back's `git status` does)."""
    out = subprocess.run(
        ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", f":(glob){pattern}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {entry[3:] for entry in out.split("\0") if len(entry) > 3}


@pytest.mark.parametrize("pattern", PATTERNS)
def test_matches_selects_what_git_selects(repo: Path, pattern: str) -> None:
    assert {name for name in FILES if matches(pattern, name)} == git_matches(repo, pattern)


def test_the_note_names_the_paths_and_where_files_changed() -> None:
    changed = [".bassi/tasks/reports/x.md"]
    note = unchanged_note(["reports/"], changed, whose="the task's commit paths", changer="the run")
    assert note == (
        "nothing changed under reports/ (the task's commit paths); the run changed .bassi/tasks/reports/x.md"
    )
    assert unchanged_note(["reports/"], ["reports/x.md"], whose="w", changer="c") is None


def test_a_long_list_of_changes_is_cut_short() -> None:
    changed = [f"f{n}.txt" for n in range(8)]
    note = unchanged_note(["out/*.md", "log.txt"], changed, whose="w", changer="the run")
    assert note == (
        "nothing changed under out/*.md, log.txt (w); the run changed f0.txt, f1.txt, f2.txt, f3.txt, f4.txt and 3 more"
    )


def test_no_change_at_all_says_so() -> None:
    note = unchanged_note(["out/"], [], whose="w", changer="the run")
    assert note == "nothing changed under out/ (w); the run changed no files"


def test_changes_are_named_from_the_repository_root_and_paths_expanded(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    workdir = tmp_path / ".bassi" / "tasks"
    workdir.mkdir(parents=True)
    assert repository_root(workdir) == tmp_path.resolve()
    variables = {"date": "2027-03-10"}
    note = run_commit_note(("reports/{date}.md",), workdir, ["reports/2027-03-10.md"], variables)
    assert note == (
        "nothing changed under reports/2027-03-10.md (the task's commit paths); "
        "the run changed .bassi/tasks/reports/2027-03-10.md"
    )
    assert run_commit_note(("reports/{date}.md",), tmp_path, ["reports/2027-03-10.md"], variables) is None


def test_outside_a_repository_paths_are_relative_to_the_workdir(tmp_path: Path) -> None:
    assert repository_root(tmp_path) == tmp_path.resolve()  # no .git above a pytest temporary folder
    assert run_commit_note(("out/",), tmp_path, ["out/a.txt"], {}) is None
