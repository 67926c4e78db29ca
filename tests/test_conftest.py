"""The suite's own rules (tests/conftest.py): with CI=true a skipped test fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = """
import pytest

def test_passes():
    pass

def test_skips_in_its_body():
    pytest.skip("a checker is missing")

@pytest.mark.skipif(True, reason="marked: a checker is missing")
def test_is_marked_to_skip():
    pass

@pytest.fixture
def needs_a_tool():
    pytest.skip("the fixture found no tool")

def test_skipped_by_a_fixture(needs_a_tool):
    pass

@pytest.mark.xfail(reason="a known bug")
def test_expected_to_fail():
    assert False
"""

SKIPPED_MODULE = 'import pytest\npytest.skip("the whole module", allow_module_level=True)\n'


def run_sample(tmp_path: Path, ci: str | None, sample: str = SAMPLE) -> dict[str, str]:
    """The outcome of each test of `sample` (from its JUnit report), run with CI set to `ci`."""
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401\n"
    )
    (tmp_path / "test_sample.py").write_text(sample)
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(ROOT)
    report = tmp_path / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", "-o", "addopts="],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name") or case.get("classname") or "?"] = kinds[0] if kinds else "passed"
    return outcomes


@pytest.mark.parametrize("ci", [None, "false"])
def test_skips_are_skips_off_ci(tmp_path: Path, ci: str | None) -> None:
    outcomes = run_sample(tmp_path, ci)
    assert outcomes["test_passes"] == "passed"
    for name in ("test_skips_in_its_body", "test_is_marked_to_skip", "test_skipped_by_a_fixture"):
        assert outcomes[name] == "skipped", outcomes
    assert outcomes["test_expected_to_fail"] == "skipped"  # JUnit's name for an xfail
    assert "failure" not in outcomes.values() and "error" not in outcomes.values()
    assert run_sample(tmp_path, ci, SKIPPED_MODULE) == {"test_sample": "skipped"}


def test_with_ci_true_every_skip_fails_the_run(tmp_path: Path) -> None:
    outcomes = run_sample(tmp_path, "true")
    assert outcomes["test_passes"] == "passed"
    assert outcomes["test_skips_in_its_body"] == "failure"
    assert outcomes["test_is_marked_to_skip"] == "error"  # at setup, before the test's fixtures
    assert outcomes["test_skipped_by_a_fixture"] == "error"
    assert outcomes["test_expected_to_fail"] == "skipped"  # an expected failure is no skip
    assert run_sample(tmp_path, "true", SKIPPED_MODULE) == {"test_sample": "error"}  # a whole module, too
