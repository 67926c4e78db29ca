"""Where tasks live (docs/design.md): --tasks-dir/--repo on every `schedule` command, one
lookup by id or name, repository tasks working in the repository root, folders that hold
only task files, and template variables checked when a task is saved."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.cli import ROOT, check_result, run_cli

EXAMPLE = ROOT / "examples" / "weekly-report"
ADD = ("--when", "monday 09:00", "--tz", "UTC", "--no-install")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository, entered from a subfolder."""
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    monkeypatch.chdir(root / "docs")
    return root


def test_add_with_repo_writes_a_repository_task_without_a_machine_path(repo: Path) -> None:
    code, out, err = run_cli("schedule", "add", "Weekly report", "--prompt", "p", "--repo", *ADD)
    assert code == 0, err
    path = repo / ".bassi" / "tasks" / "weekly-report.yaml"
    assert f"Saved to {path}" in out
    record = yaml.safe_load(path.read_text())
    assert "workdir" not in record  # it works in the repository root, wherever the clone is
    assert sorted(p.name for p in path.parent.iterdir()) == ["weekly-report.yaml"]  # no lock, no cache


def test_every_schedule_command_works_on_the_repository_folder(repo: Path) -> None:
    run_cli("schedule", "add", "Weekly report", "--prompt", "p", "--repo", *ADD)
    assert json.loads(run_cli("schedule", "list", "--repo", "--json")[1])[0]["id"] == "weekly-report"
    assert json.loads(run_cli("schedule", "list", "--json")[1]) == []  # the personal store is another folder
    assert run_cli("schedule", "show", "Weekly report", "--repo")[0] == 0  # by name, as it was added
    assert run_cli("schedule", "pause", "weekly-report", "--repo")[1] == "Paused task 'weekly-report'.\n"
    assert "Resumed task 'weekly-report'" in run_cli("schedule", "resume", "Weekly report", "--repo")[1]
    code, out, _ = run_cli("schedule", "edit", "weekly-report", "--repo", "--when", "daily 10:00")
    assert code == 0 and "daily 10:00" in out
    assert run_cli("schedule", "logs", "weekly-report", "--repo")[0] == 0
    assert run_cli("schedule", "delete", "Weekly report", "--repo") == (0, "Deleted task 'weekly-report'.\n", "")
    assert not list((repo / ".bassi" / "tasks").iterdir())


def test_tasks_dir_and_repo_are_one_or_the_other(repo: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("schedule", "list", "--repo", "--tasks-dir", str(tmp_path))
    assert code == 2 and err == "bassi: error: give --tasks-dir or --repo, not both\n"


def test_repo_outside_a_repository_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("schedule", "list", "--repo")
    assert code == 2 and "not inside a git repository" in err and err.count("\n") == 1


def test_a_folder_bassi_wrote_is_read_back_by_ci_generate(repo: Path) -> None:
    """Found by a user: `ci generate` on a folder bassi wrote stopped at bassi's own cache file."""
    folder = repo / ".bassi" / "tasks"
    run_cli("schedule", "add", "Weekly report", "--prompt", "p", "--tasks-dir", str(folder), *ADD)
    run_cli("schedule", "list", "--tasks-dir", str(folder))  # writes the validation cache (in BASSI_HOME)
    assert sorted(p.name for p in folder.iterdir()) == ["weekly-report.yaml"]
    code, out, err = run_cli("ci", "generate", "--tasks-dir", str(folder), "--out", str(repo))
    assert code == 0, err
    assert "weekly-report" in out


def test_workdir_of_a_repository_task_is_relative_to_the_root(repo: Path) -> None:
    (repo / "reports").mkdir()
    code, _, err = run_cli("schedule", "add", "r", "--prompt", "p", "--repo", "--workdir", "../reports", *ADD)
    assert code == 0, err
    assert yaml.safe_load((repo / ".bassi/tasks/r.yaml").read_text())["workdir"] == "reports"
    code, _, err = run_cli("schedule", "add", "s", "--prompt", "p", "--repo", "--workdir", "/tmp", *ADD)
    assert code == 2 and "must work inside the repository" in err


def test_a_personal_task_captures_the_folder_it_was_added_in(tmp_path: Path, isolated_home: Path) -> None:
    code, _, _ = run_cli("schedule", "add", "mine", "--prompt", "p", *ADD)
    assert code == 0
    stored = yaml.safe_load((isolated_home / "tasks" / "mine.yaml").read_text())
    assert stored["workdir"] == str(Path.cwd().resolve())


def test_execute_by_id_runs_a_repository_task_in_the_repository_root(repo: Path) -> None:
    """The README journey: the report lands in <repo>/reports, not in .bassi/tasks/reports."""
    task = yaml.safe_load((EXAMPLE / "task.yaml").read_text())
    del task["workdir"]
    (repo / ".bassi" / "tasks").mkdir(parents=True)
    (repo / ".bassi" / "tasks" / "anything.yaml").write_text(yaml.safe_dump(task))
    (repo / "metrics.csv").write_bytes((EXAMPLE / "metrics.csv").read_bytes())
    code, out, err = run_cli("execute", "weekly-report", "--replay", str(EXAMPLE / "replay.json"), "--ci")
    result = check_result(out)
    assert (code, result["status"]) == (0, "success"), err
    assert list((repo / "reports").glob("weekly-*.md"))
    assert not (repo / ".bassi" / "tasks" / "reports").exists()


def test_the_same_id_in_the_repository_and_the_store_is_refused_naming_both(repo: Path, isolated_home: Path) -> None:
    run_cli("schedule", "add", "twin", "--prompt", "p", *ADD)
    run_cli("schedule", "add", "twin", "--prompt", "p", "--repo", *ADD)
    code, out, _ = run_cli("execute", "twin", "--ci")
    message = check_result(out)["error"]["message"]
    assert code == 2
    assert str(isolated_home / "tasks" / "twin.yaml") in message and str(repo / ".bassi/tasks/twin.yaml") in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--prompt", "Report for {team}"), "unknown template variable '{team}'"),
        (("--prompt", "Report for {team}", "--var", "team=growth"), None),
        (("--prompt", "Report for {date} {{literal}}"), None),
        (("--prompt", "broken {"), "unmatched '{'"),
    ],
)
def test_template_variables_are_checked_when_a_task_is_added(args: tuple[str, ...], message: str | None) -> None:
    code, _, err = run_cli("schedule", "add", "t", *args, *ADD)
    if message is None:
        assert code == 0, err
    else:
        assert code == 2 and message in err and err.count("\n") == 1


def test_template_variables_are_checked_when_a_task_is_edited() -> None:
    run_cli("schedule", "add", "t", "--prompt", "p", *ADD)
    code, _, err = run_cli("schedule", "edit", "t", "--prompt", "for {team}")
    assert code == 2 and "unknown template variable '{team}'" in err and "--var team=VALUE" in err
    assert run_cli("schedule", "edit", "t", "--prompt", "for {team}", "--var", "team=x")[0] == 0


def test_template_variables_are_checked_when_ci_files_are_generated(repo: Path) -> None:
    folder = repo / ".bassi" / "tasks"
    folder.mkdir(parents=True)
    (folder / "t.yaml").write_text("id: t\nprompt: 'for {team}'\nschedule: daily 09:00\ntimezone: UTC\n")
    code, _, err = run_cli("ci", "generate", "--tasks-dir", str(folder), "--out", str(repo))
    assert code == 2 and "unknown template variable '{team}'" in err and "vars:" in err
    assert not (repo / ".github").exists()


def test_schedule_commands_take_a_task_file_path(repo: Path) -> None:
    """NAME may be a path to a task file: the command works on that file's folder."""
    run_cli("schedule", "add", "Weekly report", "--prompt", "p", "--repo", *ADD)
    path = "../.bassi/tasks/weekly-report.yaml"  # from repo/docs
    code, out, _ = run_cli("schedule", "show", path, "--json")
    assert code == 0 and json.loads(out)["id"] == "weekly-report"
    assert run_cli("schedule", "pause", path)[1] == "Paused task 'weekly-report'.\n"
    code, _, err = run_cli("schedule", "show", "../.bassi/tasks/nope.yaml")
    assert code == 2 and err == "bassi: error: task file ../.bassi/tasks/nope.yaml does not exist\n"
    assert run_cli("schedule", "delete", path)[0] == 0
    assert not (repo / ".bassi/tasks/weekly-report.yaml").exists()


def test_a_path_that_is_no_task_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("schedule", "show", "./notes.txt")
    assert code == 2 and err == "bassi: error: ./notes.txt: not a task file (task files end in .yaml, .yml, .json)\n"
