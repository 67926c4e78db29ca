"""A task file nested absurdly deep is a usage error naming the file (exit 2), never a crash:
not a RecursionError with a crash log, and not libyaml's composer overflowing the C stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import ROOT, check_result, run_cli

DEPTH = 5_000
DEEP = {
    "json": '{"name": "deep", "prompt": "p", "vars": ' + "[" * DEPTH + "]" * DEPTH + "}",
    "yaml": "name: deep\nprompt: p\nvars: " + "[" * DEPTH + "]" * DEPTH + "\n",
    "yaml-block": "name: deep\nprompt: p\nvars:\n" + "".join(" " * i + "-\n" for i in range(1, 600)),
}
TOO_DEEP = "nested more than 32 levels deep"


def deep_file(folder: Path, kind: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"deep.{kind.split('-')[0]}"
    path.write_text(DEEP[kind], encoding="utf-8")
    return path


def assert_no_crash_log(home: Path) -> None:
    assert not (home / "logs" / "crash.log").exists()


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_execute_names_the_file_and_exits_2(tmp_path: Path, isolated_home: Path, kind: str) -> None:
    path = deep_file(tmp_path, kind)
    code, out, err = run_cli("execute", str(path))
    assert code == 2, err
    assert f"{path}: lists and mappings are {TOO_DEEP}" in out + err
    assert "RecursionError" not in err + out
    assert_no_crash_log(isolated_home)


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_execute_ci_reports_a_usage_error(tmp_path: Path, isolated_home: Path, kind: str) -> None:
    path = deep_file(tmp_path, kind)
    code, out, _ = run_cli("execute", str(path), "--ci")
    result = check_result(out)
    assert (code, result["status"], result["exit_code"]) == (2, "usage_error", 2)
    assert str(path) in result["error"]["message"] and TOO_DEEP in result["error"]["message"]
    assert_no_crash_log(isolated_home)


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_ci_generate_names_the_file_and_exits_2(tmp_path: Path, isolated_home: Path, kind: str) -> None:
    tasks = tmp_path / ".bassi" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "fine.yaml").write_text("id: fine\nprompt: p\n", encoding="utf-8")
    path = deep_file(tasks, kind)
    code, out, err = run_cli("ci", "generate", "--tasks-dir", str(tasks), "--out", str(tmp_path))
    assert code == 2, err
    assert f"{path}: lists and mappings are {TOO_DEEP}" in err
    assert "RecursionError" not in err + out
    assert not (tmp_path / ".github").exists()  # nothing generated from a broken folder
    assert_no_crash_log(isolated_home)


def test_a_file_that_would_overflow_libyamls_stack_is_refused_before_parsing(tmp_path: Path) -> None:
    """120,000 levels in 240 KB (under the size limit): libyaml's composer used to crash the
    process with SIGSEGV, so this one runs in a child process."""
    depth = 120_000
    path = tmp_path / "deep.yaml"
    path.write_text("name: deep\nprompt: p\nvars: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "bassi_ci", "execute", str(path), "--ci"],
        cwd=tmp_path,
        env={**os.environ, "BASSI_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    result = check_result(proc.stdout)
    assert result["status"] == "usage_error" and TOO_DEEP in result["error"]["message"]
