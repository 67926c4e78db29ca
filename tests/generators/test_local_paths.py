"""A CI runner has only the repository's checkout: `ci generate` refuses to write a path of this
machine into a CI file (a task file outside the repository, an absolute `workdir`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli import run_cli
from tests.generators.helpers import generate, write_task

TARGETS = ("github", "gitlab", "jenkins")


def generate_from(tasks_dir: Path | str, repo: Path, target: str) -> tuple[int, str, str]:
    return run_cli("ci", "generate", "--target", target, "--tasks-dir", str(tasks_dir), "--out", str(repo))


def files_of(repo: Path) -> list[str]:
    return sorted(path.relative_to(repo).as_posix() for path in repo.rglob("*") if path.is_file())


@pytest.mark.parametrize("target", TARGETS)
def test_a_task_file_outside_the_repository_is_refused(tmp_path: Path, target: str) -> None:
    """The issue's case: `--tasks-dir ~/.bassi/tasks` wrote that absolute path into the workflow."""
    personal = tmp_path / "home" / ".bassi" / "tasks"
    personal.mkdir(parents=True)
    task = personal / "weekly.yaml"
    task.write_text(yaml.safe_dump({"id": "weekly", "prompt": "p", "schedule": "monday 09:00", "timezone": "UTC"}))
    repo = tmp_path / "repo"
    repo.mkdir()
    code, out, err = generate_from(personal, repo, target)
    assert code == 2, out + err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{task}: this task file is outside the repository {repo}" in err
    assert "put the task under the repository, e.g. in .bassi/tasks/" in err
    assert files_of(repo) == []


def test_a_relative_tasks_dir_that_leaves_the_repository_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    write_task(tmp_path / "elsewhere", "a.yaml", id="a", prompt="p")
    repo.mkdir()
    monkeypatch.chdir(repo)
    code, _, err = generate_from("../elsewhere/.bassi/tasks", Path("."), "jenkins")
    assert code == 2 and "../elsewhere/.bassi/tasks/a.yaml: this task file is outside the repository" in err, err
    assert files_of(repo) == []


def test_a_task_file_linked_from_outside_the_repository_is_refused(tmp_path: Path) -> None:
    """The runner's checkout holds the link, not the file it points to on this machine."""
    outside = write_task(tmp_path / "elsewhere", "a.yaml", id="a", prompt="p")
    repo = tmp_path / "repo"
    (repo / ".bassi" / "tasks").mkdir(parents=True)
    (repo / ".bassi" / "tasks" / "a.yaml").symlink_to(outside)
    code, _, err = generate(repo, "--target", "gitlab")
    assert code == 2 and "is outside the repository" in err, err


def test_a_task_file_linked_inside_the_repository_is_fine(tmp_path: Path) -> None:
    inside = write_task(tmp_path, "shared.yaml", id="a", prompt="p")
    linked = tmp_path / "ops" / "tasks"
    linked.mkdir(parents=True)
    (linked / "a.yaml").symlink_to(inside)
    code, _, err = generate_from(linked, tmp_path, "jenkins")
    assert code == 0, err


@pytest.mark.parametrize("workdir", ["/home/me/project", "~/project", "~"])
@pytest.mark.parametrize("target", TARGETS)
def test_a_machine_local_workdir_is_refused(tmp_path: Path, target: str, workdir: str) -> None:
    task = write_task(tmp_path, "a.yaml", id="a", prompt="p", workdir=workdir)
    code, out, err = generate(tmp_path, "--target", target)
    assert code == 2, out + err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{task}: workdir '{workdir}' is a folder of this machine" in err
    assert "make it relative to the repository root" in err
    assert files_of(tmp_path) == [".bassi/tasks/a.yaml"]


@pytest.mark.parametrize("target", TARGETS)
def test_a_relative_workdir_is_fine(tmp_path: Path, target: str) -> None:
    write_task(tmp_path, "a.yaml", id="a", prompt="p", workdir="reports")
    code, _, err = generate(tmp_path, "--target", target)
    assert code == 0, err
