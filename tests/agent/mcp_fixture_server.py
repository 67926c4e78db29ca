"""A small MCP server for the tests, written with the official `mcp` SDK (run as a script).

    python mcp_fixture_server.py [--name calc] [--tag TAG] [--hang-on-exit] [--child] [--exit-at-start]
                                 [--http PORT]

Tools: add(a, b), picture() (a PNG image), fail(why) (an error result), sleep(seconds),
crash() (the server exits at once), whoami() (its pid and process group).
--hang-on-exit ignores SIGTERM and end of input, so only SIGKILL stops it; --child starts a
long `sleep` child that stays in the server's process group; --http serves Streamable HTTP on
127.0.0.1:PORT instead of stdio; --exit-at-start exits with an error before serving; --echo-env NAME
prints a variable's value on stderr, as a careless server might.
It says "fixture server <name> starting" on stderr first.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

# The smallest valid PNG: one transparent pixel.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def build(name: str) -> MCPServer:
    server = MCPServer(name)

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two whole numbers."""
        return a + b

    @server.tool()
    def picture() -> Image:
        """A tiny PNG picture."""
        return Image(data=PNG_1X1, format="png")

    @server.tool()
    def fail(why: str) -> str:
        """Always fails, with `why` as the reason."""
        raise ToolError(f"failed on purpose: {why}")

    @server.tool()
    def sleep(seconds: float) -> str:
        """Sleep, then say so."""
        time.sleep(seconds)
        return f"slept {seconds}"

    @server.tool()
    def crash() -> str:
        """Exit the server process at once."""
        print("fixture server crashing on request", file=sys.stderr, flush=True)
        os._exit(3)

    @server.tool()
    def whoami() -> str:
        """The server's pid and process group."""
        return f"{os.getpid()} {os.getpgid(0)}"

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="calc")
    parser.add_argument("--tag", help="a mark in the argv, for tests that look for survivors in /proc")
    parser.add_argument("--hang-on-exit", action="store_true")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--http", type=int)
    parser.add_argument("--exit-at-start", action="store_true")
    parser.add_argument("--echo-env", metavar="NAME", help="print this variable's value on stderr (a leaky server)")
    options = parser.parse_args()
    print(f"fixture server {options.name} starting", file=sys.stderr, flush=True)
    if options.echo_env:
        print(f"{options.echo_env}={os.environ.get(options.echo_env)}", file=sys.stderr, flush=True)
    if options.exit_at_start:
        print("fixture server cannot open its database", file=sys.stderr, flush=True)
        sys.exit(3)
    if options.child:
        subprocess.Popen(["sleep", "300"])
    server = build(options.name)
    if options.http is not None:
        server.run("streamable-http", host="127.0.0.1", port=options.http)
        return
    if options.hang_on_exit:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        server.run()
        while True:  # stdin closed: a good server exits here, this one does not
            time.sleep(1)
    server.run()


if __name__ == "__main__":
    main()
