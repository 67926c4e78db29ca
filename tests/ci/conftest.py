"""Fixtures of the ci tests: a bare remote with one commit, a fake GitHub REST API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ci.fakegithub import FakeGitHub, serve
from tests.ci.helpers import git


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    bare.mkdir()
    git(bare, "init", "--bare", "-q", "-b", "main")
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    (seed / "README.md").write_text("hello\n")
    git(seed, "add", "README.md")
    git(seed, "commit", "-q", "-m", "initial")
    git(seed, "push", "-q", "origin", "HEAD:main")
    return bare


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A fake GitHub REST API (tests/ci/fakegithub.py), stopped at teardown."""
    github = FakeGitHub()
    server = serve(github)
    yield github
    server.shutdown()
    server.server_close()
