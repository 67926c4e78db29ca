"""The GitHub runner's file commands, guarded while the agent runs.

A step talks to the runner by appending to files named by GITHUB_ENV, GITHUB_PATH,
GITHUB_OUTPUT and GITHUB_STATE: a line such as `BASH_ENV=…` in GITHUB_ENV runs code in every
later step, with that step's secrets. The agent gets none of these variables, but it runs as
the runner's user and could find the files; so the action takes a copy before the run and,
when one changed, puts it back and fails the step.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from bassi_ci.envnames import RUNNER_FILE_COMMANDS
from bassi_ci.errors import RunFailed

MAX_COPY_BYTES = 16 * 1024 * 1024  # larger files are restored by cutting them back to their old size


class RunnerFilesChanged(RunFailed):
    """The runner's file-command files changed while the agent ran (they were restored)."""


@dataclass(frozen=True)
class Look:
    """What is at a path, never following a link nor blocking on a FIFO the agent may have put there."""

    kind: str  # "missing", "file", "link:<target>" or "special"
    identity: tuple[int, int] = (0, 0)  # (device, inode) of a file: a replaced file is a change
    size: int = 0
    head: bytes = b""  # the first MAX_COPY_BYTES bytes of a file


def look(path: Path, limit: int = MAX_COPY_BYTES) -> Look:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return Look("missing")
    except OSError:  # ELOOP: a link (or something else we will not open)
        return Look(f"link:{_link_target(path)}")
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return Look("special")
        return Look("file", (info.st_dev, info.st_ino), info.st_size, handle.read(limit))


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


@dataclass(frozen=True)
class RunnerFiles:
    before: dict[str, tuple[Path, Look]]

    @classmethod
    def snapshot(cls, environ: Mapping[str, str]) -> RunnerFiles:
        before = {}
        for name in RUNNER_FILE_COMMANDS:
            value = environ.get(name, "").strip()
            if value:
                before[name] = (Path(value), look(Path(value)))
        return cls(before)

    def restore_changed(self) -> list[str]:
        """Put back every file that changed (best effort); the names of their variables."""
        changed = []
        for name, (path, was) in self.before.items():
            if look(path) != was:
                with suppress(OSError):
                    _restore(path, was)
                changed.append(name)
        return changed


def _restore(path: Path, was: Look) -> None:
    if was.kind == "missing":
        path.unlink(missing_ok=True)
        return
    if was.kind != "file":
        return  # it was not ours to write either
    if was.size > len(was.head) and _cut_back(path, was):
        return
    # A new file under a name nobody could have prepared, renamed over whatever the path is now
    # (a link or a FIFO is replaced, never followed or opened).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".bassi-restore-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(was.head)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cut_back(path: Path, was: Look) -> bool:
    """A file too big to copy, appended to in place: cut it back to its old size."""
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != was.identity:
            return False
        os.ftruncate(fd, was.size)
        return True
    finally:
        os.close(fd)
