"""A hostile review of the one task model (issue #8): odd file names and task names, links,
folders that are not what they seem, and two writers at once.

Each test here failed on the code as it was before its fix (or pins a behaviour the design
documents), so the task folder means the same thing to every command.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import unicodedata
from pathlib import Path

import pytest

from bassi_ci.errors import StoreError, TaskFileError, TaskNotFound, UsageError
from bassi_ci.tasks.loader import load_task_file
from bassi_ci.tasks.lookup import TaskFolder, find_task, load_folder, repository_root_of
from bassi_ci.tasks.matching import AmbiguousTask
from bassi_ci.tasks.model import Task
from bassi_ci.tasks.store import TaskStore
from tests.cli import ROOT, run_cli

NFC = unicodedata.normalize("NFC", "Café au lait")
NFD = unicodedata.normalize("NFD", "Café au lait")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --- names -------------------------------------------------------------------------------------


def test_a_name_matches_whatever_unicode_form_it_was_typed_in(tmp_path: Path) -> None:
    # macOS hands out NFD, most keyboards type NFC: the same name to every human reader.
    write(tmp_path / "cafe.yaml", f'id: cafe\nname: "{NFD}"\nprompt: x\n')
    assert TaskStore(tmp_path).get(NFC).id == "cafe"


def test_two_tasks_whose_names_differ_only_in_unicode_form_are_ambiguous(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", f'id: cafe-a\nname: "{NFC}"\nprompt: x\n')
    write(tmp_path / "b.yaml", f'id: cafe-b\nname: "{NFD}"\nprompt: x\n')
    with pytest.raises(AmbiguousTask, match=r"several tasks \(cafe-a, cafe-b\)"):
        TaskStore(tmp_path).get(NFC)


@pytest.mark.parametrize("mark", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200f", "\u061c"])
def test_a_name_with_a_bidirectional_control_is_refused(tmp_path: Path, mark: str) -> None:
    # "report\u202egpj.exe" prints as "reportexe.jpg": a name is shown in lists, errors and CI job titles.
    path = write(tmp_path / "t.yaml", f'id: t\nname: "report{mark}gpj.exe"\nprompt: x\n')
    with pytest.raises(TaskFileError, match="field 'name'"):
        load_task_file(path)


def test_a_name_equal_to_another_tasks_id_means_that_id(tmp_path: Path) -> None:
    write(tmp_path / "alpha.yaml", "id: alpha\nname: beta\nprompt: A\n")
    write(tmp_path / "beta.yaml", "id: beta\nname: Beta task\nprompt: B\n")
    assert TaskStore(tmp_path).get("beta").prompt == "B"  # the exact id comes first, as documented


@pytest.mark.parametrize("spec", ["../alpha", "x/../alpha", "..\\alpha", "/alpha"])
def test_a_path_like_spec_never_names_a_task_by_its_slug(tmp_path: Path, spec: str) -> None:
    """ "../alpha" made into an id is "alpha": `schedule delete ../alpha` deleted alpha."""
    write(tmp_path / "alpha.yaml", "id: alpha\nprompt: A\n")
    store = TaskStore(tmp_path)
    with pytest.raises(TaskNotFound):
        store.delete(spec)
    assert (tmp_path / "alpha.yaml").exists()


def test_delete_by_a_shared_name_deletes_nothing(tmp_path: Path) -> None:
    write(tmp_path / "one.yaml", "id: one\nname: Shared\nprompt: '1'\n")
    write(tmp_path / "two.yaml", "id: two\nname: shared\nprompt: '2'\n")
    with pytest.raises(AmbiguousTask, match=r"\(one, two\)"):
        TaskStore(tmp_path).delete("Shared")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.yaml", "two.yaml"]


# --- file names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "other"),
    [("report.yaml", "a.yaml"), ("report.yaml", "Report.yaml"), ("report.yaml", "report.json")],
)
def test_every_command_agrees_which_file_owns_a_repeated_id(tmp_path: Path, owner: str, other: str) -> None:
    """`show`/`edit`/`execute` took `<id>.yaml` at once while `list` called that file the duplicate."""
    write(tmp_path / owner, "id: report\nprompt: owner\n")
    write(tmp_path / other, "id: report\nprompt: other\n")
    store = TaskStore(tmp_path)
    rows = {entry.path.name: entry for entry in store.entries()}
    assert rows[owner].task is not None and rows[other].task is None
    assert store.get("report").prompt == "owner"
    assert store.get("report").source == tmp_path / owner


def test_odd_file_names_list_and_load(tmp_path: Path) -> None:
    write(tmp_path / "new\nline.yaml", "id: newline\nprompt: x\n")
    write(tmp_path / "rtl\u202egnp.yaml", "id: rtl\nprompt: x\n")
    write(tmp_path / unicodedata.normalize("NFD", "café.yaml"), "id: cafe\nprompt: x\n")
    store = TaskStore(tmp_path)
    assert [entry.task_id for entry in store.entries()] == ["cafe", "newline", "rtl"]
    assert store.get("newline").source == tmp_path / "new\nline.yaml"


# --- folders that are not what they seem ---------------------------------------------------------


def test_a_tasks_folder_that_is_a_file_says_so(tmp_path: Path) -> None:
    tasks = write(tmp_path / ".bassi" / "tasks", "")
    store = TaskStore(tasks, flag="--repo")
    for action in (store.entries, lambda: store.add(Task(id="x", name="x", prompt="x"))):
        with pytest.raises(StoreError, match=r"is a file, not a folder of task files"):
            action()


@pytest.mark.parametrize("where", ["bassi-home", "root"])
def test_bassi_home_itself_and_the_file_system_root_are_not_tasks_folders(isolated_home: Path, where: str) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    folder = isolated_home if where == "bassi-home" else Path("/")
    with pytest.raises(UsageError, match="not a folder of task files"):
        TaskStore(folder).entries()
    with pytest.raises(UsageError, match="not a folder of task files"):
        load_folder(TaskFolder(folder, "--tasks-dir"))


def test_the_personal_store_inside_bassi_home_is_fine(isolated_home: Path) -> None:
    assert TaskStore().entries() == []
    TaskStore(isolated_home / "tasks").add(Task(id="x", name="x", prompt="x"))


# --- links -------------------------------------------------------------------------------------


def test_editing_a_linked_task_file_edits_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    """An atomic replace of the link itself forked the task: the link became a copy, the real
    file (say, in a dotfiles repository) kept the old prompt."""
    real = write(tmp_path / "dotfiles" / "report.yaml", "id: report\nprompt: old\n")
    store_dir = tmp_path / "tasks"
    store_dir.mkdir()
    (store_dir / "report.yaml").symlink_to(real)
    TaskStore(store_dir).update("report", lambda task: dataclasses.replace(task, prompt="new"))
    assert (store_dir / "report.yaml").is_symlink()
    assert load_task_file(real).prompt == "new"


def test_one_folder_reached_through_a_link_has_one_lock(tmp_path: Path) -> None:
    """The lock was named after the path as typed, so `--repo` and `--tasks-dir <link>` edited
    the same files under two different locks."""
    real = tmp_path / "repo" / ".bassi" / "tasks"
    TaskStore(real).add(Task(id="t", name="t", prompt="x"))
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "repo")
    through_link = TaskStore(link / ".bassi" / "tasks")
    done = threading.Event()

    def edit_through_the_link() -> None:
        through_link.update("t", lambda task: dataclasses.replace(task, prompt="through the link"))
        done.set()

    with TaskStore(real)._locked():
        writer = threading.Thread(target=edit_through_the_link)
        writer.start()
        assert not done.wait(1.0), "an edit through the link did not wait for the lock"
    writer.join(10)
    assert done.is_set() and TaskStore(real).get("t").prompt == "through the link"


# --- two writers -------------------------------------------------------------------------------


def test_a_hand_edit_between_reading_and_writing_is_not_overwritten(tmp_path: Path) -> None:
    """An editor that saves while `schedule edit` is between its read and its write must not lose
    its text to bassi's stale copy."""
    path = write(tmp_path / "t.yaml", "id: t\nprompt: old\n")
    store = TaskStore(tmp_path)

    def change(task: Task) -> Task:
        path.write_text("id: t\nprompt: saved by an editor meanwhile\n", encoding="utf-8")
        return dataclasses.replace(task, prompt="from bassi")

    with pytest.raises(StoreError, match="changed while bassi was editing it"):
        store.update("t", change)
    assert load_task_file(path).prompt == "saved by an editor meanwhile"


def bassi(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bassi_ci", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow  # eight bassi processes, about 4 s
def test_schedule_edit_in_two_processes_loses_nothing(tmp_path: Path) -> None:
    """Two `schedule edit` processes at once, one by --repo and one by --tasks-dir through a link:
    each field ends with the value its writer set last."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    TaskStore(repo / ".bassi" / "tasks").add(Task(id="t", name="t", prompt="x"))
    (tmp_path / "link").symlink_to(repo)
    rounds = 4
    writers = [
        [("--repo", "--max-turns", str(n)) for n in range(1, rounds + 1)],
        [("--tasks-dir", str(tmp_path / "link" / ".bassi" / "tasks"), "--retries", str(n)) for n in range(rounds)],
    ]

    def run(edits: list[tuple[str, ...]], errors: list[str]) -> None:
        for edit in edits:
            proc = bassi(repo, "schedule", "edit", "t", *edit)
            _, err = proc.communicate(timeout=60)
            if proc.returncode:
                errors.append(err)

    errors: list[str] = []
    threads = [threading.Thread(target=run, args=(edits, errors)) for edits in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    task = TaskStore(repo / ".bassi" / "tasks").get("t")
    assert (task.limits.max_turns, task.retries) == (rounds, rounds - 1)


# --- the personal store under the default BASSI_HOME ----------------------------------------------


@pytest.fixture
def default_bassi_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """BASSI_HOME unset, as on a user's machine: the personal store is ~/.bassi/tasks, a path that
    ends in `.bassi/tasks` like a repository's (HOME is a temporary folder, see conftest)."""
    monkeypatch.delenv("BASSI_HOME")
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    return project


def test_a_personal_task_under_the_default_home_is_not_a_repository_task(default_bassi_home: Path) -> None:
    """~/.bassi/tasks looked like `<repo>/.bassi/tasks` with the home folder as the repository: a
    personal task lost the folder it was added in (it would run in ~), and --workdir outside ~
    was refused as "outside the repository"."""
    code, out, err = run_cli("schedule", "add", "mine", "--when", "every hour", "--prompt", "p", "--no-install")
    assert code == 0, err
    stored = Path.home() / ".bassi" / "tasks" / "mine.yaml"
    assert f"Saved to {stored}" in out
    assert load_task_file(stored).workdir == str(default_bassi_home.resolve())
    assert repository_root_of(load_task_file(stored)) is None
    elsewhere = default_bassi_home.parent / "elsewhere"
    elsewhere.mkdir()
    args = ("--when", "every hour", "--prompt", "p", "--no-install", "--workdir", str(elsewhere))
    code, _, err = run_cli("schedule", "add", "other", *args)
    assert code == 0, err
    assert load_task_file(stored.with_name("other.yaml")).workdir == str(elsewhere.resolve())


def test_a_repository_at_home_still_has_repository_tasks(default_bassi_home: Path) -> None:
    """Only the personal store itself is excluded: a `.bassi/tasks` of another folder is a repository's."""
    other = default_bassi_home / ".bassi" / "tasks"
    write(other / "t.yaml", "id: t\nprompt: x\n")
    assert repository_root_of(load_task_file(other / "t.yaml")) == default_bassi_home


@pytest.mark.parametrize("home_in_git", [False, True])
def test_a_personal_task_runs_from_the_home_folder(
    default_bassi_home: Path, monkeypatch: pytest.MonkeyPatch, home_in_git: bool
) -> None:
    """From ~ (or anywhere below a home folder kept in git) ~/.bassi/tasks was also "this
    repository's tasks": `execute mine` named the same file twice as an ambiguity, exit 2."""
    assert run_cli("schedule", "add", "mine", "--when", "every hour", "--prompt", "p", "--no-install")[0] == 0
    home = Path.home()
    if home_in_git:
        subprocess.run(["git", "init", "-q", str(home)], check=True)
        (home / "notes").mkdir()
    monkeypatch.chdir(home / "notes" if home_in_git else home)
    task = find_task("mine", Path.cwd())
    assert task.source == home / ".bassi" / "tasks" / "mine.yaml"


# --- through the command line -------------------------------------------------------------------


def test_a_repository_inside_a_repository_keeps_its_own_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outer = tmp_path / "outer"
    inner = outer / "vendor" / "inner"
    for repo in (outer, inner):
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
    write(outer / ".bassi" / "tasks" / "outer-task.yaml", "id: outer-task\nprompt: x\n")
    monkeypatch.chdir(inner)
    with pytest.raises(TaskNotFound):
        find_task("outer-task", inner)  # the inner repository's git root ends the search
    assert run_cli("schedule", "add", "inner task", "--repo", "--prompt", "p", "--when", "every hour")[0] == 0
    assert (inner / ".bassi" / "tasks" / "inner-task.yaml").is_file()
    assert repository_root_of(find_task("inner-task", inner)) == inner


@pytest.mark.parametrize("bad_id", ["../../escape", "a/b", "..", "/etc/cron.d/x"])
def test_an_id_that_tries_to_leave_the_folder_is_a_usage_error(tmp_path: Path, bad_id: str) -> None:
    tasks = tmp_path / "deep" / "tasks"
    args = ("--tasks-dir", str(tasks), "--id", bad_id, "--prompt", "p", "--when", "every hour", "--no-install")
    code, out, err = run_cli("schedule", "add", "x", *args)
    assert (code, out) == (2, "")
    assert err.startswith("bassi: error: ") and err.count("\n") == 1 and "'id'" in err
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == []


@pytest.mark.parametrize("command", [("list",), ("show", "x"), ("delete", "x")])
def test_the_root_folder_as_tasks_dir_is_a_usage_error(command: tuple[str, ...]) -> None:
    code, out, err = run_cli("schedule", *command, "--tasks-dir", "/")
    assert (code, out) == (2, "")
    assert (
        err == "bassi: error: / is the file system's root, not a folder of task files; give the folder of your tasks\n"
    )
