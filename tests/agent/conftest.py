"""Fixtures shared by the agent tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty folder for a run to work in."""
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder
