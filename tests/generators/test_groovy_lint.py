"""An independent Jenkinsfile parser (npm-groovy-lint, CodeNarc on Groovy's own parser) reads every
kind of Jenkinsfile `bassi ci generate` writes: the golden tasks (every schedule kind, paused, no
schedule, commit-back), hostile names, prompts and install commands, and each line break of
test_unicode.py in a task file's name, its folder's name and the install command. One run of the
linter for all of them: it starts a JVM, then takes about a second per file.

A negative test shows the linter really parses: a raw newline inside `cron('…')` is an error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli import run_cli
from tests.generators.helpers import NASTY, write_task
from tests.generators.test_unicode import SEPARATORS, payload
from tests.generators.test_unicode import write_task as write_committing_task
from tests.oracles import requires

pytestmark = [pytest.mark.slow, requires("npm-groovy-lint", "java")]

GOLDEN_TASKS = Path(__file__).parent / "golden" / "tasks" / "all"
HOSTILE_INSTALL = "python3 -m venv .bassi-venv && .bassi-venv/bin/pip install 'bassi-ci>=1' \"$X\" `y` ${z} \\ '"


def lint(*files: Path) -> tuple[int, dict[str, list[dict[str, Any]]], str]:
    """(exit code, findings per file, raw output) of the documented command, with JSON output."""
    tool = shutil.which("npm-groovy-lint")
    assert tool is not None
    command = [tool, "--noserver", "--failon", "error", "--config", "recommended-jenkinsfile", "--output", "json"]
    proc = subprocess.run([*command, *map(str, files)], capture_output=True, text=True, check=False, timeout=300)
    report = json.loads(proc.stdout[proc.stdout.index("{") :])
    findings = {Path(name).name: entry["errors"] for name, entry in report["files"].items()}
    assert report["summary"]["totalFilesLinted"] == len(files), proc.stdout[-2000:]
    return proc.returncode, findings, proc.stdout + proc.stderr


def generated(repo: Path, tasks_dir: Path, *options: str) -> list[Path]:
    code, _, err = run_cli(
        "ci", "generate", "--target", "jenkins", "--tasks-dir", str(tasks_dir), "--out", str(repo), *options
    )
    assert code == 0, err
    return sorted((repo / "jenkins").glob("*.Jenkinsfile"))


def every_kind(tmp_path: Path) -> list[Path]:
    """Generated Jenkinsfiles of every kind the tests know (about 1 s of linting each)."""
    files: list[Path] = []
    golden = tmp_path / "golden"
    shutil.copytree(GOLDEN_TASKS, golden / ".bassi" / "tasks")
    files += generated(golden, golden / ".bassi" / "tasks")
    hostile = tmp_path / "hostile-install"
    shutil.copytree(GOLDEN_TASKS, hostile / ".bassi" / "tasks")
    # One file of the golden set, the richest (commit-back), is enough for a hostile install command.
    files += [hostile / "jenkins" / "bassi-weekly-report.Jenkinsfile"]
    generated(hostile, hostile / ".bassi" / "tasks", "--install-command", HOSTILE_INSTALL)
    nasty = tmp_path / "nasty"
    fields = {"name": NASTY, "prompt": NASTY, "schedule": "every 30m", "timezone": "UTC", "commit": {"paths": ["r/"]}}
    write_task(nasty, "n.yaml", id="nasty", **fields)
    files += generated(nasty, nasty / ".bassi" / "tasks")
    for label, sep in SEPARATORS.items():
        # The line break in the folder's name, the file's name and the install command at once.
        repo = tmp_path / f"break-{label}"
        write_committing_task(repo / payload(sep), payload(sep) + ".yaml")
        files += generated(repo, repo / payload(sep), "--install-command", "true " + payload(sep))
    return files


def gathered(files: list[Path], folder: Path) -> list[Path]:
    """Copies under plain, distinct names, so the linter's report names each one."""
    folder.mkdir()
    copies = []
    for number, path in enumerate(files):
        copy = folder / f"{number:02d}-{path.parent.parent.name}-{path.name}"
        shutil.copyfile(path, copy)
        copies.append(copy)
    return copies


def test_every_kind_of_generated_jenkinsfile_parses_without_error(tmp_path: Path) -> None:
    files = gathered(every_kind(tmp_path), tmp_path / "lint")
    assert len(files) == len(list(GOLDEN_TASKS.iterdir())) + 2 + len(SEPARATORS)
    code, findings, output = lint(*files)
    errors = {name: found for name, found in findings.items() if any(f["severity"] == "error" for f in found)}
    assert (code, errors) == (0, {}), output[-4000:]


def test_the_linter_reports_a_raw_newline_in_the_cron_trigger(tmp_path: Path) -> None:
    """The control: the check above would catch a broken literal (Groovy has no raw newline in '…')."""
    repo = tmp_path / "repo"
    write_task(repo, "a.yaml", id="a", prompt="p", schedule="daily 09:00", timezone="Europe/Berlin")
    (path,) = generated(repo, repo / ".bassi" / "tasks")
    good = path.read_text()
    assert "cron('TZ=Europe/Berlin\\n0 9 * * *')" in good
    broken = tmp_path / "broken.Jenkinsfile"
    broken.write_text(good.replace("TZ=Europe/Berlin\\n", "TZ=Europe/Berlin\n"))
    code, findings, output = lint(broken)
    assert code != 0, output[-4000:]
    assert [f["rule"] for f in findings[broken.name] if f["severity"] == "error"] == ["NglParseError"], output
