"""Suite-wide fixtures: every test gets its own BASSI_HOME and can never write to the real home."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Plugins that other test modules share (fixtures such as `fake_api`, `git_server`).
pytest_plugins: list[str] = ["tests.fakeapi", "tests.gitserver"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point BASSI_HOME and HOME at fresh temporary folders for every test."""
    root = tmp_path_factory.mktemp("home")
    bassi_home = root / "bassi"
    monkeypatch.setenv("HOME", str(root))
    monkeypatch.setenv("BASSI_HOME", str(bassi_home))
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("BASSI_NOW", raising=False)
    yield bassi_home


REAL_HOME = Path(os.path.expanduser("~")).resolve()


@pytest.fixture(autouse=True, scope="session")
def real_home_untouched() -> Iterator[None]:
    """Fail the session if anything under the real ~/.bassi changed while tests ran."""
    real = REAL_HOME / ".bassi"
    before = _snapshot(real)
    yield
    assert _snapshot(real) == before, f"the test suite wrote to the real {real}"


def _snapshot(folder: Path) -> dict[str, float]:
    if not folder.exists():
        return {}
    return {str(p): p.stat().st_mtime for p in folder.rglob("*")}
