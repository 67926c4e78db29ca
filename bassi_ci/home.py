"""The one place that decides where bassi keeps its files (BASSI_HOME)."""

from __future__ import annotations

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
