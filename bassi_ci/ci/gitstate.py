"""What makes git run programs in a repository, and its HEAD, fingerprinted, so commit-back can
refuse to run git in a repository whose configuration changed while an agent worked in it, and
never pushes commits the agent made itself.

Git runs commands named by its configuration (core.sshCommand, filters, credential helpers,
gpg.program, hooks, fsmonitor, includes, …) and by attribute files that name filters. Rather
than chase every such key, commit-back fails closed: it compares the files below, taken before
the run, with the same files after it, and refuses on any difference. Repositories nested in
the tree (git recurses into submodules) and the shared folder of a linked worktree count too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from bassi_ci.errors import RunFailed, UsageError

# Inside the git folder: its configuration, what `info/` adds (attributes, excludes), the hooks.
GIT_DIR_ENTRIES = ("config", "config.worktree", "commondir", "info", "hooks")
# In the working tree: attribute files (filters, diff drivers) and submodule settings.
TREE_FILE_NAMES = frozenset({".gitattributes", ".gitmodules", ".lfsconfig"})
MAX_TREE_FILES = 200_000  # a walk this big is not a repository an agent should commit back from


class GitConfigChanged(RunFailed):
    """The repository's git configuration changed during the run: commit-back refuses (exit 1)."""


GitState = dict[str, str]  # relative path → digest of what it is (file content, link target, …)


def git_state(worktree: Path) -> GitState:
    """The fingerprint of everything in `worktree` that can make git run a program, and of HEAD
    (commits the agent made would be pushed with bassi's own)."""
    state: GitState = {}
    _add_repository(state, worktree, ".git")
    head = _head_commit(worktree / ".git")
    state["HEAD"] = head or "unknown"
    for path, nested_git in _tree_files(worktree):
        relative = path.relative_to(worktree).as_posix()
        if nested_git:  # a repository inside the tree: git may recurse into it (submodules)
            _add_repository(state, path.parent, relative)
        else:
            state[relative] = _describe(path)
    for path in _user_and_system_files():
        state[f"config:{path}"] = _describe(path)
    return state


def _add_repository(state: GitState, top: Path, label: str) -> None:
    """The `.git` of `top` (a folder, or a `gitdir:` file), its git folder's configuration, hooks
    and info, the shared folder of a linked worktree (`commondir`), and files its config includes."""
    dot_git = top / ".git"
    state[label] = _describe(dot_git)
    git_dir = _git_dir(dot_git)
    if git_dir is None:
        return
    folders = {git_dir: label}
    common = _common_dir(git_dir)
    if common is not None:
        folders[common] = f"{label}:common"
    for folder, name in folders.items():
        for entry in GIT_DIR_ENTRIES:
            for path in _walk(folder / entry):
                state[f"{name}/{path.relative_to(folder).as_posix()}"] = _describe(path)
        for path in _included_files(folder / "config"):
            state[f"include:{path}"] = _describe(path)


def _common_dir(git_dir: Path) -> Path | None:
    """The repository's shared git folder when `git_dir` is a linked worktree's."""
    try:
        text = (git_dir / "commondir").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    target = Path(text)
    return (target if target.is_absolute() else git_dir / target).resolve()


def _head_commit(dot_git: Path) -> str | None:
    """HEAD as `ref -> sha` (or a detached sha), read from the files, without running git."""
    git_dir = _git_dir(dot_git)
    if git_dir is None:
        return None
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if not head.startswith("ref:"):
        return head
    ref = head.removeprefix("ref:").strip()
    return f"{ref} -> {_ref_value(_common_dir(git_dir) or git_dir, ref)}"


def _ref_value(common: Path, ref: str) -> str:
    try:
        return (common / ref).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        pass
    try:
        for line in (common / "packed-refs").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.endswith(" " + ref):
                return line.split(" ", 1)[0]
    except OSError:
        pass
    return "none"


def worktree_of(path: Path) -> Path | None:
    """The top of the git working tree `path` lies in (None outside one)."""
    for folder in [path.resolve(), *path.resolve().parents]:
        if (folder / ".git").exists():
            return folder
    return None


def state_token(state: Mapping[str, str]) -> str:
    """One line that stands for a whole state (what `bassi ci git-state` prints)."""
    text = json.dumps(sorted(state.items()), ensure_ascii=True)
    return "gs1-" + hashlib.sha256(text.encode()).hexdigest()


def check_unchanged(before: GitState | str, worktree: Path) -> None:
    """Raise GitConfigChanged when the state of `worktree` is not `before` (a state or its token)."""
    after = git_state(worktree)
    if isinstance(before, str):
        if not before.startswith("gs1-"):
            raise UsageError(f"--git-state {before!r}: not a value printed by 'bassi ci git-state'")
        if state_token(after) != before:
            raise GitConfigChanged(_refusal("its git configuration or HEAD changed during the run"))
        return
    changed = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise GitConfigChanged(_refusal(f"these changed during the run: {shown}"))


def _refusal(what: str) -> str:
    return (
        f"refusing to commit back: {what} (git configuration, hooks or attribute files can make git "
        "run programs with the push credential, and only bassi's own commit may be pushed); nothing was "
        "committed or pushed"
    )


def _git_dir(dot_git: Path) -> Path | None:
    """The repository's git folder: `.git` itself, or where a `gitdir:` file points."""
    if dot_git.is_dir() and not dot_git.is_symlink():
        return dot_git
    try:
        text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text.removeprefix("gitdir:").strip())
    return target if target.is_absolute() else dot_git.parent / target


def _included_files(config: Path) -> list[Path]:
    """Files an `[include]`/`[includeIf]` of the repository's config names (they may lie anywhere)."""
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    paths = re.findall(r"(?im)^\s*path\s*=\s*\"?([^\"\n]+?)\"?\s*$", text)
    return [(config.parent / Path(path).expanduser()) for path in paths]


def _user_and_system_files() -> list[Path]:
    """The user's and the system's git configuration and attributes, which git reads too."""
    home = Path(os.environ.get("HOME") or Path.home())
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "git"
    files = [home / ".gitconfig", xdg / "config", xdg / "attributes", Path("/etc/gitconfig")]
    if os.environ.get("GIT_CONFIG_GLOBAL"):
        files.append(Path(os.environ["GIT_CONFIG_GLOBAL"]))
    return files


def _walk(top: Path) -> Iterator[Path]:
    """`top` and, for a real folder, everything below it (links are described, never followed)."""
    yield top
    if top.is_symlink() or not top.is_dir():
        return
    for folder, subfolders, files in os.walk(top):
        subfolders.sort()
        for name in sorted(files + [d for d in subfolders if os.path.islink(os.path.join(folder, d))]):
            yield Path(folder, name)


def _tree_files(worktree: Path) -> Iterator[tuple[Path, bool]]:
    """Attribute files in the tree, and `.git` of repositories nested in it (path, is_nested_git)."""
    seen = 0
    for folder, subfolders, files in os.walk(worktree):
        nested = folder != str(worktree) and (".git" in subfolders or ".git" in files)
        subfolders[:] = sorted(name for name in subfolders if name != ".git")
        seen += len(files)
        if seen > MAX_TREE_FILES:
            raise GitConfigChanged(_refusal(f"more than {MAX_TREE_FILES:,} files to check in {worktree}"))
        if nested:
            yield Path(folder, ".git"), True
        for name in sorted(TREE_FILE_NAMES.intersection(files)):
            yield Path(folder, name), False


def _describe(path: Path) -> str:
    """What `path` is, as a short digest: missing, a link and its target, a folder, or a file's
    mode and content."""
    try:
        stat = path.lstat()
    except FileNotFoundError:
        return "missing"
    except OSError as problem:
        return f"unreadable:{problem.errno}"
    if path.is_symlink():
        return "link:" + os.readlink(path)
    if path.is_dir():
        return "folder"
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as problem:
        return f"unreadable:{problem.errno}"
    return f"file:{stat.st_mode & 0o7777:o}:{digest.hexdigest()}"
