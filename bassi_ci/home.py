"""The one place that decides where bassi keeps its files (BASSI_HOME)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def bassi_home() -> Path:
    """`$BASSI_HOME`, or `~/.bassi` when it is not set."""
    configured = os.environ.get("BASSI_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".bassi"


def tasks_dir() -> Path:
    return bassi_home() / "tasks"


def logs_dir() -> Path:
    return bassi_home() / "logs"


def state_db_path() -> Path:
    return bassi_home() / "state.db"


def folder_state_path(folder: Path, kind: str, suffix: str) -> Path:
    """Where bassi keeps its own state about a tasks folder (a lock, a cache): in BASSI_HOME,
    never beside the tasks, so a repository's `.bassi/tasks/` holds only task files.

    One file per folder, named by a hash of the folder's absolute path.
    """
    digest = hashlib.sha256(str(folder.absolute()).encode()).hexdigest()[:16]
    return bassi_home() / kind / f"tasks-{digest}{suffix}"
