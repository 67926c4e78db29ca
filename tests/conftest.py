"""Suite-wide fixtures: every test, and every process the tests start, has a temporary home.

`tests.homes` (imported first) points HOME, BASSI_HOME and the XDG folders at a temporary folder
for the whole session; `isolated_home` gives each test a fresh one of its own on top.

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

from tests.homes import home_environment  # first: isolates the session's home as it is imported
from tests.os_schedulers import GUARD_DIR  # noqa: F401  # stand-in crontab/systemctl on PATH

# Plugins that other test modules share (fixtures such as `fake_api`, `git_server`, `pg_url`).
pytest_plugins: list[str] = ["tests.fakeapi", "tests.gitserver", "tests.pgserver", "tests.runs.receiver"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point HOME, BASSI_HOME and the XDG folders at a fresh temporary folder for every test."""
    root = tmp_path_factory.mktemp("home")
    environment = home_environment(root)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("BASSI_NOW", raising=False)
    yield Path(environment["BASSI_HOME"])


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
