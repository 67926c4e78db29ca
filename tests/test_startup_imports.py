"""Commands that run no agent must not import the heavy libraries (fast start-up)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("anthropic", "httpx", "httpx2", "git", "mcp", "psycopg")


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["schedule", "list"],
        ["schedule", "list", "--json"],
        ["schedule", "preview", "weekdays 09:00", "--tz", "Europe/Berlin", "--count", "3"],
        ["history"],
        ["execute", "--help"],
        ["queue", "add", "x", "--prompt", "p"],
        ["queue", "list"],
        ["queue", "show", "1"],
        ["mcp", "--help"],
    ],
)
def test_command_does_not_import_heavy_libraries(args: list[str]) -> None:
    probe = (
        "import sys\n"
        "from bassi_ci.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert "LOADED []" in result.stderr, result.stderr[-500:]
