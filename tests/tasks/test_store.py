"""The task store: atomic, locked writes; broken files never hide the others."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from pathlib import Path

import pytest
import yaml

from bassi_ci.errors import StoreError, TaskFileError, TaskNotFound, UsageError
from bassi_ci.tasks.cache import ValidatedCache
from bassi_ci.tasks.loader import load_task_file
from bassi_ci.tasks.model import Task
from bassi_ci.tasks.store import TaskStore


def make_task(task_id: str, **changes: object) -> Task:
    base = Task(id=task_id, name=task_id, prompt="do it", schedule="daily 09:00", timezone="UTC")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_add_get_update_delete(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    path = store.add(make_task("report"))
    assert path == tmp_path / "report.yaml"
    assert store.get("report").prompt == "do it"
    store.update("report", lambda t: dataclasses.replace(t, prompt="new"))
    assert store.get("report").prompt == "new"
    store.delete("report")
    with pytest.raises(TaskNotFound, match="no task named 'report'"):
        store.get("report")


def test_add_refuses_an_existing_id_and_keeps_the_old_task(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    store.add(make_task("report"))
    with pytest.raises(UsageError, match="exists already"):
        store.add(make_task("report", prompt="other"))
    assert store.get("report").prompt == "do it"


@pytest.mark.parametrize("spec", ["../escape", "a/b", "UPPER", "", "-x", "x" * 64, "a b"])
def test_specs_that_could_escape_never_reach_a_file_outside(tmp_path: Path, spec: str) -> None:
    (tmp_path / "escape.yaml").write_text("id: [broken\n", encoding="utf-8")  # outside the store
    with pytest.raises(TaskNotFound, match="no task named"):
        TaskStore(tmp_path / "store").get(spec)


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", "UPPER", "", "-x", "x" * 64, "a b"])
def test_ids_that_could_escape_are_refused_when_adding(tmp_path: Path, bad_id: str) -> None:
    with pytest.raises(UsageError, match="not a valid task id"):
        TaskStore(tmp_path).path_for(bad_id)


def test_broken_file_shows_as_an_error_row_and_others_still_list(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    store.add(make_task("alpha"))
    store.add(make_task("gamma"))
    (tmp_path / "beta.yaml").write_text("name: [broken\n", encoding="utf-8")
    (tmp_path / "delta.yaml").write_text("id: other\nprompt: x\n", encoding="utf-8")
    entries = {e.task_id: e for e in store.entries()}
    assert entries["alpha"].task is not None and entries["gamma"].task is not None
    assert entries["beta"].task is None and "not valid YAML" in (entries["beta"].error or "")
    assert entries["other"].task is not None  # any file name: the id is the task's own


def test_files_may_have_any_name_and_a_repeated_id_is_an_error_row(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: report\nprompt: first\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("id: report\nprompt: second\n", encoding="utf-8")
    (tmp_path / "notes.json").write_text('{"id": "notes", "prompt": "x"}', encoding="utf-8")
    store = TaskStore(tmp_path)
    rows = {e.path.name: e for e in store.entries()}
    assert rows["a.yaml"].task is not None and rows["notes.json"].task is not None
    assert f"task id 'report' is also used by {tmp_path / 'a.yaml'}" in (rows["b.yml"].error or "")
    assert store.get("report").prompt == "first"
    with pytest.raises(UsageError, match="exists already"):
        store.add(make_task("report"))


def test_an_edit_keeps_the_file_and_its_format(tmp_path: Path) -> None:
    import json

    (tmp_path / "Notes File.json").write_text('{"id": "notes", "prompt": "x"}', encoding="utf-8")
    store = TaskStore(tmp_path)
    store.update("notes", lambda t: dataclasses.replace(t, prompt="changed"))
    assert json.loads((tmp_path / "Notes File.json").read_text())["prompt"] == "changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Notes File.json"]


def test_the_folder_holds_only_task_files(tmp_path: Path, isolated_home: Path) -> None:
    """Locks and caches live in BASSI_HOME: a repository's .bassi/tasks stays clean."""
    folder = tmp_path / "repo" / ".bassi" / "tasks"
    store = TaskStore(folder)
    store.add(make_task("report"))
    store.update("report", lambda t: dataclasses.replace(t, prompt="new"))
    store.entries()
    assert sorted(p.name for p in folder.iterdir()) == ["report.yaml"]
    assert list((isolated_home / "cache").iterdir()) and list((isolated_home / "locks").iterdir())


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = TaskStore(tmp_path)
    store.add(make_task("report"))
    before = (tmp_path / "report.yaml").read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StoreError, match=r"cannot write .*report\.yaml"):
        store.update("report", lambda t: dataclasses.replace(t, prompt="lost?"))
    assert (tmp_path / "report.yaml").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["report.yaml"]


def _add_and_edit(args: tuple[str, int, int]) -> None:
    root, worker, count = args
    store = TaskStore(Path(root))
    for index in range(count):
        task_id = f"w{worker}-t{index}"
        store.add(make_task(task_id))
        store.update(task_id, lambda t: dataclasses.replace(t, prompt=f"edited by {worker}"))
        # Everybody also edits one shared task: a lost update would drop a var.
        store.update("shared", lambda t, k=f"w{worker}_{index}": dataclasses.replace(t, vars={**t.vars, k: "1"}))


def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    TaskStore(tmp_path).add(make_task("shared"))
    workers, per_worker = 6, 8
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_add_and_edit, [(str(tmp_path), w, per_worker) for w in range(workers)])
    store = TaskStore(tmp_path)
    entries = store.entries()
    assert all(e.task is not None for e in entries), [e.error for e in entries if e.error]
    assert len(entries) == workers * per_worker + 1
    for worker in range(workers):
        for index in range(per_worker):
            assert store.get(f"w{worker}-t{index}").prompt == f"edited by {worker}"
    assert len(store.get("shared").vars) == workers * per_worker
    for path in tmp_path.glob("*.yaml"):
        assert isinstance(yaml.safe_load(path.read_text()), dict)
        load_task_file(path)
    assert not list(tmp_path.glob("*.tmp")), "temporary files left behind"


def test_listing_sees_hand_edits_after_the_cache_is_warm(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    store.add(make_task("report"))
    store.add(make_task("other"))
    assert [e.task_id for e in store.entries()] == ["other", "report"]  # warms the cache
    path = tmp_path / "report.yaml"
    path.write_text(path.read_text().replace("do it", "do it by hand now"), encoding="utf-8")
    (tmp_path / "other.yaml").write_text("prompt: [\n", encoding="utf-8")
    entries = {e.task_id: e for e in store.entries()}
    assert entries["report"].task is not None and entries["report"].task.prompt == "do it by hand now"
    assert entries["other"].task is None and "not valid YAML" in (entries["other"].error or "")


def _cache_file(folder: Path) -> Path:
    path = ValidatedCache(folder).path
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    store.add(make_task("report"))
    store.entries()
    _cache_file(tmp_path).write_text("{broken", encoding="utf-8")
    assert store.entries()[0].task == make_task("report")
    _cache_file(tmp_path).write_text('{"version": "0.0.0", "entries": {"report.yaml": 1}}')
    assert store.entries()[0].task == make_task("report")


def test_broken_files_show_as_errors_and_can_be_deleted(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    store.add(make_task("good"))
    (tmp_path / "broken.yaml").write_text("id: [\n", encoding="utf-8")
    (tmp_path / "dangling.yaml").symlink_to(tmp_path / "nowhere.yaml")
    errors = {e.path.name: e.error for e in store.entries() if e.error}
    assert "not valid YAML" in (errors["broken.yaml"] or "")
    assert "cannot read the task file" in (errors["dangling.yaml"] or "")
    with pytest.raises(TaskFileError, match="not valid YAML"):
        store.get("broken")
    store.delete("dangling")
    store.delete("broken")
    assert sorted(e.path.name for e in store.entries()) == ["good.yaml"]


def test_a_store_that_is_not_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("", encoding="utf-8")
    store = TaskStore(not_a_folder / "tasks")
    with pytest.raises(StoreError, match="cannot use the tasks folder"):
        store.add(make_task("x"))
    with pytest.raises(StoreError, match="cannot read the tasks folder"):
        TaskStore(not_a_folder).entries()


def test_a_damaged_cache_record_is_validated_again(tmp_path: Path) -> None:
    import json

    store = TaskStore(tmp_path)
    store.add(make_task("report"))
    store.entries()
    cache_path = _cache_file(tmp_path)
    data = json.loads(cache_path.read_text())
    del data["entries"]["report.yaml"]["record"]["prompt"]
    cache_path.write_text(json.dumps(data))
    assert store.entries()[0].task == make_task("report")


def test_a_cache_nested_absurdly_deep_is_ignored(tmp_path: Path) -> None:
    store = TaskStore(tmp_path)
    store.add(make_task("report"))
    _cache_file(tmp_path).write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert store.entries()[0].task == make_task("report")
