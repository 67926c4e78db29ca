"""Golden files: what `bassi ci generate` writes for a fixed set of tasks, compared byte for byte.

The fixture tasks in `golden/tasks/` cover what the task schema allows: daily, weekly,
weekdays, monthly, `every 15m`, `hourly`, a cron expression and an alias; zones with and
without DST (both hemispheres, half-hour offsets); YAML, `.yml` and JSON files; an id
derived from a name; vars of every type; limits (seconds and durations); tools (none, some,
the default); commit settings with paths, globs, message, branch and pull request; a
paused task, a task without a schedule, and a name full of YAML/shell/GitHub-expression
characters. `golden/tasks/all/` goes to every CI target; `golden/tasks/pull-requests/` only to
GitHub and GitLab (`commit.pull_request` is an error for Jenkins); Kubernetes gets the tasks of
`all/` without commit or workdir (a pod has no checkout) and `golden/tasks/kubernetes/` (a JSON
task, a 63-character id, prompts that look like more manifests), and once with queue workers.

Each variant copies its tasks into a fresh temporary repository, runs
`bassi ci generate --target T --tasks-dir DIR --out .` there (the working directory is the
repository, so every path in the output is relative and nothing depends on the temporary
folder), and compares

- every generated file with `golden/expected/<variant>/<same path>`, and
- the command's exit code, stdout and stderr with `golden/expected/<variant>.console.txt`.

The error cases run one task from `golden/errors/tasks/` against one target and compare the
exit code and messages with `golden/errors/expected/<task>.<target>.txt`; nothing may be written.

The command runs through its public entry point only (`tests.cli.run_cli`), so the test
survives moving the generators to other modules.

To change generated files ON PURPOSE, rewrite the expected files from the current code:

    BASSI_UPDATE_GOLDEN=1 PYTHONPATH=. python3 -m pytest -q tests/generators/test_golden.py

then review `git diff tests/generators/golden/` and commit it with the change that caused it.
A refactor that means to change nothing must pass without it.
"""

from __future__ import annotations

import difflib
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli import run_cli

GOLDEN = Path(__file__).parent / "golden"
TASKS = GOLDEN / "tasks"
EXPECTED = GOLDEN / "expected"
ERRORS = GOLDEN / "errors"
UPDATE = os.environ.get("BASSI_UPDATE_GOLDEN") == "1"
EVERY_TARGET = ("all/*",)
PULL_REQUEST_TASKS = ("all/*", "pull-requests/*")  # not for Jenkins, which cannot open them
INSTALL = "pipx install 'bassi-ci==1.*'"
# Kubernetes: the tasks a pod without a repository checkout can run (no commit, no workdir).
KUBERNETES_TASKS = (
    "all/hourly-sync.yaml",
    "all/queue-poll.yaml",
    "all/standup-cron.yaml",
    "all/paused-nightly.yaml",
    "all/on-demand.yaml",
    "kubernetes/*",
)
JENKINS_INSTALL = "python3 -m venv .bassi-venv && .bassi-venv/bin/pip install 'bassi-ci==1.*'"


@dataclass(frozen=True)
class Variant:
    name: str  # folder under golden/expected/
    target: str
    tasks: tuple[str, ...]  # globs under golden/tasks/
    tasks_dir: str = ".bassi/tasks"  # where the tasks go in the repository (relative to it)
    options: tuple[str, ...] = ()  # more `bassi ci generate` options

    def command(self, with_options: bool = True) -> list[str]:
        options = self.options if with_options else ()
        return ["ci", "generate", "--target", self.target, "--tasks-dir", self.tasks_dir, "--out", ".", *options]


# The defaults first; then every option that changes the output, with tasks in a folder whose
# name needs quoting and is not the default (a subset of the tasks: with and without commit).
SOME_TASKS = ("all/weekly-report.yaml", "all/daily-digest.yml", "all/paused-nightly.yaml", "all/on-demand.yaml")
VARIANTS = (
    Variant("github", "github", PULL_REQUEST_TASKS),
    Variant("gitlab", "gitlab", PULL_REQUEST_TASKS),
    Variant("jenkins", "jenkins", EVERY_TARGET),
    Variant(
        "github-options",
        "github",
        (*SOME_TASKS, "pull-requests/*"),
        tasks_dir="ci/bassi tasks",
        options=("--action", "my-org/bassi-run@v2"),
    ),
    Variant(
        "gitlab-options",
        "gitlab",
        SOME_TASKS,
        tasks_dir="ci/bassi tasks",
        options=("--gitlab-image", "", "--gitlab-ref", "develop", "--install-command", INSTALL),
    ),
    Variant(
        "jenkins-options",
        "jenkins",
        SOME_TASKS,
        tasks_dir="ci/bassi tasks",
        options=("--install-command", JENKINS_INSTALL),
    ),
    Variant("kubernetes", "kubernetes", KUBERNETES_TASKS),
    Variant(
        "kubernetes-options",
        "kubernetes",
        ("all/queue-poll.yaml", "all/paused-nightly.yaml", "kubernetes/*"),
        tasks_dir="ci/bassi tasks",
        options=("--image", "registry.example/team/bassi-ci:1.4", "--namespace", "agents"),
    ),
    Variant(
        "kubernetes-queue-workers",
        "kubernetes",
        ("all/hourly-sync.yaml", "all/queue-poll.yaml", "all/on-demand.yaml"),
        options=("--queue-workers", "3", "--queue-schedule", "every 10m", "--namespace", "agents"),
    ),
)

# (task file in golden/errors/tasks/ without suffix, target): each must fail with exit 2.
ERROR_CASES = (
    ("every-90m", "github"),
    ("every-90m", "jenkins"),
    ("every-2m", "github"),
    ("once", "gitlab"),
    ("pull-request", "jenkins"),
    ("once", "kubernetes"),
    ("every-90m", "kubernetes"),
    ("commit-back", "kubernetes"),
)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_generated_files_match_the_golden_files(
    variant: Variant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    tasks_dir = repo / variant.tasks_dir
    copied = _copy_tasks(variant.tasks, tasks_dir)
    assert len(copied) >= 3, f"fixture globs {variant.tasks} found only {copied}"
    monkeypatch.chdir(repo)
    command = variant.command()
    code, out, err = run_cli(*command)
    console = _console(command, code, out, err)
    generated = _tree(repo, skip=tasks_dir)
    expected_dir = EXPECTED / variant.name
    console_file = EXPECTED / f"{variant.name}.console.txt"
    if UPDATE:
        _rewrite(expected_dir, generated)
        console_file.write_bytes(console.encode())
    assert code == 0, console
    problems = _differences(generated, _tree(expected_dir))
    problems += _differences({console_file.name: console.encode()}, {console_file.name: _read(console_file)})
    if problems:
        where = expected_dir.relative_to(GOLDEN.parents[2])
        pytest.fail(f"{variant.name}: output differs from {where}:\n\n" + "\n".join(problems), pytrace=False)
    # What was just written is up to date by --check's own account, with the options given again or
    # without them (remembered in .bassi/ci-generate.yaml).
    for again in (command, variant.command(with_options=False)):
        check = run_cli(*again, "--check")
        assert check[0] == 0, check


@pytest.mark.parametrize(("task", "target"), ERROR_CASES, ids=[f"{t}-{g}" for t, g in ERROR_CASES])
def test_tasks_ci_cannot_run_are_refused_with_the_golden_message(
    task: str, target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    tasks_dir = repo / ".bassi" / "tasks"
    tasks_dir.mkdir(parents=True)
    shutil.copy2(ERRORS / "tasks" / f"{task}.yaml", tasks_dir)
    monkeypatch.chdir(repo)
    command = ["ci", "generate", "--target", target, "--tasks-dir", ".bassi/tasks", "--out", "."]
    code, out, err = run_cli(*command)
    console = _console(command, code, out, err)
    expected_file = ERRORS / "expected" / f"{task}.{target}.txt"
    if UPDATE:
        expected_file.parent.mkdir(parents=True, exist_ok=True)
        expected_file.write_bytes(console.encode())
    assert code == 2, console
    assert _tree(repo, skip=tasks_dir) == {}, "a refused task must not leave files behind"
    problems = _differences({expected_file.name: console.encode()}, {expected_file.name: _read(expected_file)})
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def test_every_fixture_task_is_used() -> None:
    """A task file added to golden/tasks/ but matched by no variant would silently test nothing."""
    used = {path for variant in VARIANTS for pattern in variant.tasks for path in TASKS.glob(pattern)}
    assert used == {path for path in TASKS.rglob("*") if path.is_file()}
    assert {path.stem for path in (ERRORS / "tasks").iterdir()} == {task for task, _ in ERROR_CASES}


def test_no_expected_file_is_orphaned() -> None:
    """Expected folders and console files exist for the variants, and only for them."""
    names = {v.name for v in VARIANTS}
    assert {p.name for p in EXPECTED.iterdir() if p.is_dir()} == names
    assert {p.name for p in EXPECTED.iterdir() if p.is_file()} == {f"{name}.console.txt" for name in names}
    assert {p.name for p in (ERRORS / "expected").iterdir()} == {f"{t}.{g}.txt" for t, g in ERROR_CASES}


# --------------------------------------------------------------------------- helpers


def _copy_tasks(patterns: tuple[str, ...], tasks_dir: Path) -> list[str]:
    tasks_dir.mkdir(parents=True)
    names = []
    for pattern in patterns:
        for path in sorted(TASKS.glob(pattern)):
            shutil.copy2(path, tasks_dir / path.name)
            names.append(path.name)
    return names


def _tree(root: Path, skip: Path | None = None) -> dict[str, bytes]:
    """Every file under `root` (hidden ones too) by POSIX path, except those under `skip`."""
    if not root.is_dir():
        return {}
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and (skip is None or skip not in path.parents)
    }


def _read(path: Path) -> bytes:
    return path.read_bytes() if path.is_file() else b""


def _console(command: list[str], code: int, out: str, err: str) -> str:
    return f"$ bassi {shlex.join(command)}\nexit code: {code}\n--- stdout\n{out}--- stderr\n{err}"


def _rewrite(folder: Path, files: dict[str, bytes]) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _differences(actual: dict[str, bytes], expected: dict[str, bytes]) -> list[str]:
    """Readable differences: missing and unexpected files, and a unified diff per changed file."""
    problems = [f"missing (expected but not generated): {name}" for name in sorted(expected.keys() - actual.keys())]
    problems += [f"unexpected (generated but not expected): {name}" for name in sorted(actual.keys() - expected.keys())]
    for name in sorted(actual.keys() & expected.keys()):
        if actual[name] == expected[name]:
            continue
        diff = difflib.unified_diff(
            _lines(expected[name]), _lines(actual[name]), f"expected/{name}", f"generated/{name}", n=2
        )
        problems.append("".join(line if line.endswith("\n") else line + "\n" for line in diff))
    return problems


def _lines(data: bytes) -> list[str]:
    """Lines for the diff; a line ending other than a bare LF is shown, so no difference is invisible."""
    lines = data.decode("utf-8", errors="backslashreplace").splitlines(keepends=True)
    return [line if _plain(line) else f"{line!r} (line end shown)\n" for line in lines]


def _plain(line: str) -> bool:
    return line.endswith("\n") and not line.endswith("\r\n")
