"""The one task lookup: what each spec finds, what each failure says, and that every caller
(execute, ci generate, the action) speaks its own user's language."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bassi_ci.errors import TaskFileError, TaskNotFound, UsageError
from bassi_ci.tasks.lookup import TaskFolder, find_in_folder, find_task, load_folder
from bassi_ci.tasks.store import TaskStore
from tests.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, task_id: str, prompt: str = "do it") -> Path:
    """A minimal task file, in JSON when its name says so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps({"id": task_id, "prompt": prompt}), encoding="utf-8")
    else:
        path.write_text(f"id: {task_id}\nprompt: {prompt}\n", encoding="utf-8")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A store, a git repository with a subfolder, tasks above the repository, and a loose file."""
    write(tmp_path / "store" / "weekly.yaml", "weekly", "from the store")
    write(tmp_path / "outer" / ".bassi" / "tasks" / "above.yaml", "above")
    repo = tmp_path / "outer" / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    write(repo / ".bassi" / "tasks" / "monthly.yml", "monthly")
    write(repo / ".bassi" / "tasks" / "weekly.yaml", "weekly", "from the repository")
    (repo / ".bassi" / "tasks" / "broken.yaml").write_text("id: [broken\n", encoding="utf-8")
    write(tmp_path / "loose" / "task.yaml", "loose")
    return tmp_path


@pytest.mark.parametrize(
    ("spec", "cwd", "found"),
    [
        ("loose/task.yaml", ".", "loose"),  # a path, relative to cwd
        ("{tree}/loose/task.yaml", "outer/repo/sub", "loose"),  # an absolute path
        ("weekly", "outer", "weekly"),  # an id in the store, outside the repository
        ("monthly", "outer/repo/sub", "monthly"),  # an id in the repository, from a subfolder
        ("monthly", "outer/repo", "monthly"),  # ... and from its root
    ],
)
def test_find_task_finds(tree: Path, spec: str, cwd: str, found: str) -> None:
    task = find_task(spec.format(tree=tree), tree / cwd, TaskStore(tree / "store"))
    assert task.id == found
    if found == "weekly":
        assert task.prompt == "from the store"


def test_the_same_id_in_the_repository_and_the_store_is_an_error_naming_both(tree: Path) -> None:
    with pytest.raises(UsageError) as caught:
        find_task("weekly", tree / "outer/repo/sub", TaskStore(tree / "store"))
    message = str(caught.value)
    assert f"{tree}/outer/repo/.bassi/tasks/weekly.yaml" in message and f"{tree}/store/weekly.yaml" in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("spec", "found"),
    [
        ("weekly-report", "weekly-report"),  # the id
        ("Weekly report", "weekly-report"),  # the name, as `schedule add` was given it
        ("  WEEKLY   REPORT ", "weekly-report"),  # case and spaces do not matter
        ("Nightly triage!", "triage"),  # a name that is not its id
        ("weekly report", "weekly-report"),
    ],
)
def test_a_task_is_found_by_id_or_unique_name(tmp_path: Path, spec: str, found: str) -> None:
    (tmp_path / "r.yaml").write_text("id: weekly-report\nname: Weekly report\nprompt: p\n")
    (tmp_path / "t.yaml").write_text("id: triage\nname: Nightly triage!\nprompt: p\n")
    assert find_task(spec, tmp_path / "elsewhere", TaskStore(tmp_path)).id == found


def test_a_name_two_tasks_share_is_ambiguous_and_lists_their_ids(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: report-a\nname: Report\nprompt: p\n")
    (tmp_path / "b.yaml").write_text("id: report-b\nname: report\nprompt: p\n")
    with pytest.raises(UsageError, match=r"'Report' is the name of several tasks \(report-a, report-b\); give the id"):
        find_task("Report", tmp_path, TaskStore(tmp_path))


def test_a_typo_gets_a_did_you_mean(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("id: weekly-report\nname: Weekly report\nprompt: p\n")
    with pytest.raises(TaskNotFound, match=r"no task named 'weekly-reprot' .*\(did you mean 'weekly-report'\?\)"):
        find_task("weekly-reprot", tmp_path, TaskStore(tmp_path))


@pytest.mark.parametrize(
    ("spec", "cwd", "error", "message"),
    [
        (
            "nope",
            "outer/repo/sub",
            TaskNotFound,
            "no task named 'nope' in {tree}/outer/repo/.bassi/tasks or {tree}/store",
        ),
        ("above", "outer/repo/sub", TaskNotFound, "no task named 'above'"),  # the git root bounds the search
        ("monthly", "outer", TaskNotFound, "no task named 'monthly'"),  # a repository's tasks stay inside it
        ("missing/task.yaml", ".", TaskNotFound, "task file missing/task.yaml does not exist"),
        ("Weekly Report", ".", TaskNotFound, "no task named 'Weekly Report' in {tree}/store (did you mean 'weekly'?)"),
        ("broken", "outer/repo", TaskFileError, "broken.yaml: not valid YAML"),  # a broken file, by id
        (".bassi/tasks/broken.yaml", "outer/repo", TaskFileError, "not valid YAML"),  # ... and by path
        ("x" * 64, ".", TaskNotFound, "no task named 'xxxx"),
    ],
)
def test_find_task_fails(tree: Path, spec: str, cwd: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        find_task(spec, tree / cwd, TaskStore(tree / "store"))
    assert message.format(tree=tree) in str(caught.value)


def test_outside_git_only_the_current_folder_counts(tmp_path: Path) -> None:
    write(tmp_path / ".bassi" / "tasks" / "here.json", "here")
    (tmp_path / "sub").mkdir()
    store = TaskStore(tmp_path / "store")
    assert find_task("here", tmp_path, store).id == "here"
    with pytest.raises(TaskNotFound):
        find_task("here", tmp_path / "sub", store)


def test_a_folder_loads_sorted_by_id_and_matches_by_id_not_file_name(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "zeta")
    write(tmp_path / "b.JSON", "alpha")
    write(tmp_path / "notes.txt", "ignored")
    folder = TaskFolder(tmp_path, named_by="--tasks-dir")
    assert [task.id for task in load_folder(folder)] == ["alpha", "zeta"]
    assert find_in_folder("zeta", folder).source == tmp_path / "a.yaml"
    with pytest.raises(TaskNotFound, match=f"task 'a': not found in {tmp_path}"):
        find_in_folder("a", folder)


@pytest.mark.parametrize(
    ("files", "error", "message"),
    [
        ({"a.yaml": "one", "b.yml": "one"}, TaskFileError, "b.yml: task id 'one' is also used by {folder}/a.yaml"),
        ({"a.yaml": "one", "b.yaml": None}, TaskFileError, "b.yaml: not valid YAML"),
    ],
)
def test_a_folder_with_a_repeated_id_or_a_broken_file_fails(
    tmp_path: Path, files: dict[str, str | None], error: type[Exception], message: str
) -> None:
    for name, task_id in files.items():
        if task_id is None:
            (tmp_path / name).write_text("id: [broken\n")
        else:
            write(tmp_path / name, task_id)
    with pytest.raises(error) as caught:
        load_folder(TaskFolder(tmp_path, named_by="--tasks-dir"))
    assert message.format(folder=tmp_path) in str(caught.value)


def test_a_missing_folder_names_the_callers_knob(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no such folder of task files \(use the knob\)"):
        find_in_folder("a", TaskFolder(tmp_path / "nowhere", named_by="the knob"))


# --------------------------------------------------------------------------- each caller's wording


def test_execute_names_where_it_looked(tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli("execute", "nope", "--ci")
    result = json.loads(out)
    assert (code, result["status"]) == (2, "usage_error")
    assert result["error"]["message"] == (
        f"no task named 'nope' in {isolated_home / 'tasks'}; "
        "see 'bassi schedule list' (--repo for this repository's tasks)"
    )


def test_ci_generate_points_at_its_flag(tmp_path: Path) -> None:
    missing = tmp_path / "no-tasks"
    code, _, err = run_cli("ci", "generate", "--tasks-dir", str(missing), "--out", str(tmp_path))
    assert code == 2
    assert err == f"bassi: error: {missing}: no such folder of task files (use --tasks-dir)\n"


def action_error(work: Path, **inputs: str) -> str:
    """The one ::error:: line of `bassi ci action-run` with these inputs (it must fail with exit 2)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BASSI_INPUT_")}
    env.update({f"BASSI_INPUT_{name.upper()}": value for name, value in inputs.items()})
    env.update({"RUNNER_TEMP": str(work / "runner-temp"), "PYTHONPATH": str(ROOT)})
    env.pop("GITHUB_OUTPUT", None)
    proc = subprocess.run(
        [sys.executable, "-m", "bassi_ci", "ci", "action-run"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, proc.stdout
    return errors[0]


def test_the_action_points_at_its_input_not_at_a_flag(tmp_path: Path) -> None:
    error = action_error(tmp_path, task="weekly", tasks_dir="no/such/dir")
    assert "no/such/dir: no such folder of task files (use the action's tasks-dir input)" in error
    assert "--tasks-dir" not in error
    write(tmp_path / ".bassi" / "tasks" / "weekly.yaml", "weekly")
    assert "task 'nope': not found in .bassi/tasks" in action_error(tmp_path, task="nope")
