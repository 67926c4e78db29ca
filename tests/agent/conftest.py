"""Fixtures shared by the agent tests."""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.mcp_helpers import survivors


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty folder for a run to work in."""
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder


@pytest.fixture
def server_tag() -> Iterator[str]:
    """A unique mark for the argv and environment of the MCP servers a test starts; the test
    fails when any process carrying it outlives the test (and such processes are killed)."""
    value = f"mcp-fixture-{secrets.token_hex(6)}"
    yield value
    left = survivors(value)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"MCP server processes outlived the test: {left}"
