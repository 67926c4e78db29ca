"""`bassi execute` on a real terminal: ask_user asks the person and the answer goes to the model."""

from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import sys
import time
from pathlib import Path

USAGE = {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def recording(path: Path) -> Path:
    """Two recorded turns: a question through ask_user, then a final answer."""
    messages = [
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-5-5",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_ask1",
                    "name": "ask_user",
                    "input": {"question": "Which team is this report for?"},
                }
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": USAGE,
        },
        {
            "id": "msg_2",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-5-5",
            "content": [{"type": "text", "text": "Thanks, noted."}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": USAGE,
        },
    ]
    path.write_text(json.dumps({"format": "bassi-recording", "version": 1, "messages": messages}))
    return path


def read_until(fd: int, marker: bytes, seen: bytearray, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {marker!r} on the terminal; got {bytes(seen)!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen.extend(chunk)


def test_ask_user_asks_on_the_terminal_and_the_answer_reaches_the_model(isolated_home: Path, tmp_path: Path) -> None:
    replay = recording(tmp_path / "ask.json")
    pid, fd = pty.fork()
    if pid == 0:  # the child: bassi on a real terminal
        os.chdir(tmp_path)
        os.execv(
            sys.executable,
            [
                sys.executable,
                "-m",
                "bassi_ci",
                "execute",
                "--prompt",
                "report",
                "--tools",
                "ask_user",
                "--replay",
                str(replay),
            ],
        )
    seen = bytearray()
    read_until(fd, b"Which team is this report for?", seen)
    read_until(fd, b"> ", seen)
    os.write(fd, b"platform\n")
    read_until(fd, b"success (exit 0)", seen)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, bytes(seen)
    with sqlite3.connect(isolated_home / "state.db") as db:
        status_text, log_path = db.execute("SELECT status, log_path FROM runs").fetchone()
    assert status_text == "success"
    log = Path(log_path).read_text(encoding="utf-8")
    assert "platform" in log  # the answer went back to the model as the tool result
