"""Whether a run changed anything under its task's commit paths, and the sentence that says it did not.

A task that declares `commit.paths` expects its runs to change files there: commit-back commits
those and nothing else. A run that wrote its report somewhere else (a task file's `workdir: .`
is the task's folder, not the repository root) used to end in "success" and a quiet "nothing to
commit". The run's summary and commit-back's note now name the commit paths and where the files
did change instead.

Commit paths are git pathspecs with the `glob` magic, relative to the repository root;
`matches` follows git's rules, so that what this says agrees with what commit-back will stage.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from bassi_ci.errors import TemplateError
from bassi_ci.tasks.templating import expand

LISTED_FILES = 5  # beyond these, "and N more": the summary stays a line, not a page
_WILDCARDS = re.compile(r"[*?\[]")


def matches(pattern: str, path: str) -> bool:
    """Whether git's `:(glob)pattern` pathspec matches the file `path` (both relative to the root).

    Without wildcards a pattern names a file or a folder (and so everything under it); with them
    it must match the whole path, `*` and `?` never crossing a `/`, `**/`, `/**/` and `/**` any
    number of folders (git's wildmatch with WM_PATHNAME).
    """
    pattern = pattern.removeprefix("./")
    if not _WILDCARDS.search(pattern):
        folder = pattern.rstrip("/")
        return folder in ("", ".") or path == folder or path.startswith(folder + "/")
    return _glob_regex(pattern).fullmatch(path) is not None


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            end = index + 2
            while end < len(pattern) and pattern[end] == "*":
                end += 1
            at_start = index == 0 or pattern[index - 1] == "/"
            if at_start and pattern.startswith("/", end):
                parts.append("(?:.*/)?")  # `**/`: zero or more folders
                end += 1
            else:
                parts.append(".*")  # `/**` at the end, or asterisks inside a name: anything
            index = end
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "[" and (close := _class_end(pattern, index)) > 0:
            body = pattern[index + 1 : close]
            negated = body[:1] in ("!", "^")
            body = body[1:] if negated else body
            parts.append("[" + ("^/" if negated else "") + body.replace("\\", "\\\\") + "]")
            index = close
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            parts.append(re.escape(pattern[index]))
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts), re.S)


def _class_end(pattern: str, start: int) -> int:
    """Index of the `]` that closes the class opened at `start`, or -1 (then `[` is literal)."""
    index = start + 1
    if pattern[index : index + 1] in ("!", "^"):
        index += 1
    if pattern[index : index + 1] == "]":
        index += 1  # a `]` first in the class is one of its characters
    close = pattern.find("]", index)
    return close


def unchanged_note(paths: Sequence[str], changed: Sequence[str], *, whose: str, changer: str) -> str | None:
    """None when a changed file is under one of `paths`; else the sentence that says nothing is,
    naming the paths (`whose`: "the task's commit paths") and where `changer` changed files."""
    if any(matches(pattern, path) for path in changed for pattern in paths):
        return None
    named = ", ".join(paths)
    if not changed:
        return f"nothing changed under {named} ({whose}); {changer} changed no files"
    shown = ", ".join(changed[:LISTED_FILES])
    more = f" and {len(changed) - LISTED_FILES} more" if len(changed) > LISTED_FILES else ""
    return f"nothing changed under {named} ({whose}); {changer} changed {shown}{more}"


def repository_root(workdir: Path) -> Path:
    """The root of the git working tree `workdir` lies in (commit paths are relative to it); the
    workdir itself outside one. Looked up by its `.git`, without starting git."""
    start = workdir.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def run_commit_note(
    paths: Sequence[str], workdir: Path, files_changed: Sequence[str], variables: Mapping[str, str]
) -> str | None:
    """The note of a run whose task commits `paths` (templates expanded with the run's variables):
    None when the run changed a file there."""
    root = repository_root(workdir)
    changed = [_from_root(workdir / name, root) for name in files_changed]
    return unchanged_note(
        [_expanded(path, variables) for path in paths], changed, whose="the task's commit paths", changer="the run"
    )


def _expanded(template: str, variables: Mapping[str, str]) -> str:
    try:
        return expand(template, variables, where="commit path")
    except TemplateError:
        return template  # commit-back reports a bad template itself; here it is only named


def _from_root(path: Path, root: Path) -> str:
    resolved = path.resolve()
    return resolved.relative_to(root).as_posix() if root in resolved.parents else str(resolved)
