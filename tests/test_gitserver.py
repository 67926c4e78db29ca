"""The token-checking git server of the end-to-end tests (tests/gitserver.py) checks what it should:
a test that relies on "the push arrives only with the right credential" needs a server that
really refuses the others."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.gitserver import GitServer, basic


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    return subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=False, env=env, timeout=60
    )


def header(user: str, token: str) -> str:
    return f"http.extraHeader=Authorization: {basic(user, token)}"


def test_reads_need_a_known_credential_and_pushes_a_writer(tmp_path: Path, git_server: GitServer) -> None:
    git_server.readers["reader"] = "read-token"
    git_server.writers["writer"] = "write-token"
    assert git(tmp_path, "clone", "-q", git_server.url(), "anonymous").returncode != 0
    assert git(tmp_path, "clone", "-q", git_server.url("reader", "wrong"), "wrong").returncode != 0
    assert [(r.user, r.status) for r in git_server.requests][:1] == [(None, 401)]

    assert git(tmp_path, "clone", "-q", git_server.url("reader", "read-token"), "work").returncode == 0
    work = tmp_path / "work"
    (work / "big.bin").write_bytes(os.urandom(300_000))  # bigger than the post buffer: a chunked upload
    assert git(work, "add", "big.bin").returncode == 0
    assert git(work, "commit", "-q", "-m", "big").returncode == 0

    refused = git(work, "push", "origin", "HEAD:refs/heads/main")
    assert refused.returncode != 0 and "403" in refused.stderr  # a reader may not push
    wrong = git(work, "-c", header("writer", "nope"), "push", "origin", "HEAD:refs/heads/main")
    assert wrong.returncode != 0
    assert git_server.pushes() == []

    pushed = git(
        work, "-c", "http.postBuffer=65536", "-c", header("writer", "write-token"), "push", "origin", "HEAD:main"
    )
    assert pushed.returncode == 0, pushed.stderr
    pushes = git_server.pushes()
    assert {(r.user, r.status) for r in pushes} == {("writer", 200)} and any(r.chunked for r in pushes)
    assert git_server.git("log", "-1", "--format=%s", "main") == "big"
    assert git_server.git("cat-file", "-s", "main:big.bin") == "300000"
