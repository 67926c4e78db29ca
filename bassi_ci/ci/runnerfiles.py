"""The GitHub runner's file commands, guarded while the agent runs.

A step talks to the runner by appending to files named by GITHUB_ENV, GITHUB_PATH,
GITHUB_OUTPUT and GITHUB_STATE: a line such as `BASH_ENV=…` in GITHUB_ENV runs code in every
later step, with that step's secrets. The agent gets none of these variables, but it runs as
the runner's user and could find the files; so the action takes a copy before the run and,
when one changed, puts it back and fails the step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bassi_ci.errors import RunFailed
from bassi_ci.runs.ci import RUNNER_FILE_COMMANDS

MAX_COPY_BYTES = 16 * 1024 * 1024  # larger files are restored by cutting them back to their old size


class RunnerFilesChanged(RunFailed):
    """The runner's file-command files changed while the agent ran (they were restored)."""


@dataclass(frozen=True)
class _Copy:
    path: Path
    content: bytes | None  # None: the file did not exist
    size: int


@dataclass(frozen=True)
class RunnerFiles:
    copies: dict[str, _Copy]

    @classmethod
    def snapshot(cls, environ: Mapping[str, str]) -> RunnerFiles:
        copies = {}
        for name in RUNNER_FILE_COMMANDS:
            value = environ.get(name, "").strip()
            if value:
                copies[name] = _take_copy(Path(value))
        return cls(copies)

    def restore_changed(self) -> list[str]:
        """Put back every file that changed; the names of their variables."""
        changed = []
        for name, copy in self.copies.items():
            if _read_up_to(copy.path, MAX_COPY_BYTES + 1) != copy.content or _size(copy.path) != copy.size:
                _restore(copy)
                changed.append(name)
        return changed


def _take_copy(path: Path) -> _Copy:
    content = _read_up_to(path, MAX_COPY_BYTES)
    return _Copy(path, content, _size(path))


def _read_up_to(path: Path, limit: int) -> bytes | None:
    try:
        with path.open("rb") as handle:
            return handle.read(limit)
    except FileNotFoundError:
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _restore(copy: _Copy) -> None:
    if copy.content is None:
        copy.path.unlink(missing_ok=True)
        return
    if copy.size > len(copy.content):  # too big to copy: keep what was there, cut what was added
        os.truncate(copy.path, copy.size)
        return
    tmp = copy.path.with_name(copy.path.name + ".bassi-restore")
    tmp.write_bytes(copy.content)
    os.replace(tmp, copy.path)
