"""Suite-wide fixtures: every test gets its own BASSI_HOME and can never write to the real home.

With CI=true a skipped test fails the run: CI installs every checker the tests use
(.ci/run), so a skip there means a check silently did not happen. A test that needs a
program says so with `tests.oracles.requires(...)`, which skips it before any of its
work (at setup, before its fixtures run), never half-way through.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
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


def skips_fail() -> bool:
    """Whether a skip fails the run: on CI, where every checker is installed."""
    return os.environ.get("CI") == "true"


def _as_failure(report: pytest.TestReport | pytest.CollectReport) -> None:
    longrepr = report.longrepr
    reason = (longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)).removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = f"skipped with CI=true, where every checker must be installed and every test run: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and skips_fail() and not hasattr(report, "wasxfail"):
        _as_failure(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    if report.skipped and skips_fail():
        _as_failure(report)
    return report


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
