"""Helpers of the MCP tests: the fixture server's path, and the search for what a run left behind."""

from __future__ import annotations

import os
from pathlib import Path

FIXTURE = Path(__file__).with_name("mcp_fixture_server.py")


def survivors(tag: str) -> list[int]:
    """Live processes whose command line or environment holds `tag` (this process excluded)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                if handle.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X"):
                    continue
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{name}/environ", "rb") as handle:
                environ = handle.read()
        except (OSError, IndexError):
            continue
        if tag.encode() in cmdline or tag.encode() in environ:
            found.append(int(name))
    return found
