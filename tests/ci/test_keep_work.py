"""Work never lost: `commit.on_failure: branch` pushes a failed run's changes to
bassi/<task_id>/<run_id> of a real bare remote; `discard` pushes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bassi_ci.tasks.loader import load_task_file
from bassi_ci.tasks.model import task_from_dict
from tests.ci.helpers import clone, git, remote_log
from tests.cli import run_cli

RUN_ID = "20270310T090000Z-a1b2c3"
SIDE = f"bassi/weekly/{RUN_ID}"
EXIT_CODES = {"failed": 1, "needs_input": 3, "timeout": 4, "limit_reached": 5, "api_error": 6, "interrupted": 130}


def write_task(folder: Path, on_failure: str | None = "branch", task_id: str = "weekly") -> Path:
    task = folder / f"{task_id}.yaml"
    extra = f"  on_failure: {on_failure}\n" if on_failure else ""
    task.write_text(
        f"id: {task_id}\nprompt: p\ncommit:\n  paths: ['reports/']\n  message: '{{task_id}} {{run_id}}'\n{extra}"
    )
    return task


def write_result(folder: Path, status: str, run_id: str = RUN_ID, **extra: object) -> Path:
    result = folder / "bassi-result.json"
    document = {"status": status, "exit_code": EXIT_CODES.get(status, 0), "run_id": run_id, "task_id": "weekly"}
    result.write_text(json.dumps({**document, **extra}))
    return result


def branches(remote: Path) -> list[str]:
    return git(remote, "for-each-ref", "--format=%(refname)", "refs/heads").splitlines()


def commit_after(work: Path, task: Path, result: Path, *more: str) -> tuple[int, str, str]:
    return run_cli("ci", "commit", "--repo", str(work), "--task", str(task), "--result", str(result), *more)


@pytest.fixture
def work(remote: Path, tmp_path: Path) -> Path:
    """A checkout on main where the run wrote a report (under the commit paths) and a stray file."""
    repo = clone(remote, tmp_path / "work")
    (repo / "reports").mkdir()
    (repo / "reports" / "week.md").write_text("half a report\n")
    (repo / "stray.txt").write_text("outside the commit paths\n")
    return repo


def test_a_timed_out_run_pushes_its_work_to_the_side_branch(remote: Path, work: Path, tmp_path: Path) -> None:
    main_before = git(remote, "rev-parse", "main")
    code, out, err = commit_after(work, write_task(tmp_path), write_result(tmp_path, "timeout"))
    assert code == 4, err  # the work is safe, the job still fails as the run did
    assert out.splitlines() == ["commit-sha=", f"work-branch={SIDE}"]
    assert "status timeout: kept its changes to 1 file(s)" in err and f"origin/{SIDE} (not on main)" in err
    assert branches(remote) == ["refs/heads/bassi/weekly/" + RUN_ID, "refs/heads/main"]
    assert git(remote, "rev-parse", "main") == main_before  # the default branch is untouched
    assert git(remote, "rev-parse", f"{SIDE}^") == main_before  # one commit on top of it
    assert git(remote, "show", f"{SIDE}:reports/week.md") == "half a report"
    assert git(remote, "diff-tree", "--no-commit-id", "--name-only", "-r", SIDE) == "reports/week.md"
    assert git(remote, "log", "-1", "--format=%s|%an", SIDE) == f"weekly {RUN_ID}|bassi[bot]"


def test_with_discard_nothing_is_pushed_and_the_note_says_how_to_keep_it(
    remote: Path, work: Path, tmp_path: Path
) -> None:
    before = git(remote, "rev-parse", "main")
    code, out, err = commit_after(work, write_task(tmp_path, on_failure=None), write_result(tmp_path, "timeout"))
    assert code == 1 and out == ""
    assert "not committing: the run in" in err and "ended with status timeout" in err
    assert "its changes were discarded" in err and "commit.on_failure: branch" in err
    assert branches(remote) == ["refs/heads/main"] and git(remote, "rev-parse", "main") == before
    assert git(work, "log", "--format=%s") == "initial"  # not even a local commit


@pytest.mark.parametrize("status", sorted(EXIT_CODES))
def test_every_status_of_a_run_that_worked_and_failed_keeps_its_work(
    remote: Path, work: Path, tmp_path: Path, status: str
) -> None:
    code, out, _ = commit_after(work, write_task(tmp_path), write_result(tmp_path, status))
    assert code == EXIT_CODES[status] and f"work-branch={SIDE}" in out
    assert f"refs/heads/{SIDE}" in branches(remote)


@pytest.mark.parametrize("status", ["usage_error", "auth_error", "locked", "idle"])
def test_runs_where_no_agent_worked_keep_nothing(remote: Path, work: Path, tmp_path: Path, status: str) -> None:
    code, out, err = commit_after(work, write_task(tmp_path), write_result(tmp_path, status))
    assert code == 1 and out == "" and f"status {status}" in err
    assert "discarded" not in err  # there was no run's work to lose
    assert branches(remote) == ["refs/heads/main"]


def test_a_failed_run_that_changed_files_only_outside_the_commit_paths_pushes_nothing(
    remote: Path, tmp_path: Path
) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "notes").mkdir()
    (work / "notes" / "x.md").write_text("elsewhere\n")
    code, out, err = commit_after(work, write_task(tmp_path), write_result(tmp_path, "failed"))
    assert code == 1 and out == "commit-sha=\n"
    assert "nothing to commit: nothing changed under reports/" in err and "notes/x.md" in err
    assert branches(remote) == ["refs/heads/main"]


@pytest.mark.parametrize(("task_says", "option", "pushed"), [(None, "branch", True), ("branch", "discard", False)])
def test_the_on_failure_option_overrides_the_task(
    remote: Path, work: Path, tmp_path: Path, task_says: str | None, option: str, pushed: bool
) -> None:
    task = write_task(tmp_path, on_failure=task_says)
    code, _, err = commit_after(work, task, write_result(tmp_path, "limit_reached"), "--on-failure", option)
    assert code == (5 if pushed else 1), err
    assert (f"refs/heads/{SIDE}" in branches(remote)) is pushed


def test_a_successful_run_ignores_on_failure(remote: Path, work: Path, tmp_path: Path) -> None:
    code, out, err = commit_after(work, write_task(tmp_path), write_result(tmp_path, "success"))
    assert code == 0, err
    assert out.strip() == f"commit-sha={git(remote, 'rev-parse', 'main')}" and "work-branch" not in out
    assert branches(remote) == ["refs/heads/main"]


def test_an_unknown_on_failure_value_is_refused(work: Path, tmp_path: Path) -> None:
    code, _, err = commit_after(work, write_task(tmp_path, on_failure="keep"), write_result(tmp_path, "failed"))
    assert code == 2 and "on_failure" in err and "Traceback" not in err
    code, _, err = commit_after(work, write_task(tmp_path), write_result(tmp_path, "failed"), "--on-failure", "x")
    assert code == 2 and "--on-failure" in err


# --- Hostile ids: the side branch is one safe ref, or nothing happens ----------------------------


@pytest.mark.parametrize(
    "run_id",
    ["../../main", "x y", "-x", "a..b", "x.lock", "r/../../refs/heads/main", "ω-run", "x\nmain", "a~1", "", "x" * 101],
)
def test_a_run_id_that_cannot_name_a_branch_is_a_usage_error(
    remote: Path, work: Path, tmp_path: Path, run_id: str
) -> None:
    code, out, err = commit_after(work, write_task(tmp_path), write_result(tmp_path, "failed"), "--run-id", run_id)
    if run_id == "":  # an empty --run-id falls back to the result's own
        assert code == 1 and f"work-branch={SIDE}" in out
        return
    assert code == 2, err
    assert "cannot name the side branch bassi/<task_id>/<run_id>" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert branches(remote) == ["refs/heads/main"] and git(work, "log", "--format=%s") == "initial"


def test_a_hostile_run_id_in_the_result_file_is_refused_too(remote: Path, work: Path, tmp_path: Path) -> None:
    code, _, err = commit_after(work, write_task(tmp_path), write_result(tmp_path, "timeout", run_id="../main"))
    assert code == 2 and "the run id '../main' cannot name the side branch" in err
    assert branches(remote) == ["refs/heads/main"]


def test_a_hostile_task_id_option_is_refused(remote: Path, work: Path, tmp_path: Path) -> None:
    task, result = write_task(tmp_path), write_result(tmp_path, "failed")
    code, _, err = commit_after(work, task, result, "--task-id", "main/../x")
    assert code == 2 and "the task id 'main/../x' cannot name the side branch" in err
    assert branches(remote) == ["refs/heads/main"]


@pytest.mark.parametrize("task_id", ["wëekly", "weekly\u200b", "ＷＥＥＫＬＹ", "a--b"])
def test_a_task_id_with_odd_characters_is_refused_before_any_git(work: Path, tmp_path: Path, task_id: str) -> None:
    task = tmp_path / "odd.yaml"
    task.write_text(
        json.dumps({"id": task_id, "prompt": "p", "commit": {"paths": ["reports/"], "on_failure": "branch"}})
    )
    code, _, err = commit_after(work, task, write_result(tmp_path, "failed"))
    assert code == 2 and "field 'id': expected a slug" in err and "Traceback" not in err
    assert git(work, "log", "--format=%s") == "initial"


def test_the_side_branch_is_never_the_checked_out_branch(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    git(work, "checkout", "-q", "-b", SIDE)  # someone works on a branch with exactly that name
    (work / "reports").mkdir()
    (work / "reports" / "r.md").write_text("x\n")
    code, _, err = commit_after(work, write_task(tmp_path), write_result(tmp_path, "failed"))
    assert code == 2 and "is the checked-out branch" in err
    assert branches(remote) == ["refs/heads/main"]


def test_the_remote_log_of_main_is_unchanged_after_two_failed_runs(remote: Path, work: Path, tmp_path: Path) -> None:
    task = write_task(tmp_path)
    assert commit_after(work, task, write_result(tmp_path, "failed", run_id="r1"))[0] == 1
    (work / "reports" / "week.md").write_text("second try\n")
    assert commit_after(work, task, write_result(tmp_path, "timeout", run_id="r2"))[0] == 4
    assert remote_log(remote) == ["initial|Someone|someone@example.com"]
    assert git(remote, "show", "bassi/weekly/r2:reports/week.md") == "second try"
    assert git(remote, "show", "bassi/weekly/r1:reports/week.md") == "half a report"


def test_on_failure_round_trips_through_the_task_record(tmp_path: Path) -> None:
    task = load_task_file(write_task(tmp_path))
    assert task.commit is not None and task.commit.on_failure == "branch"
    assert task.commit.to_dict()["on_failure"] == "branch"
    assert task_from_dict(task.to_dict()) == task
    default = load_task_file(write_task(tmp_path, on_failure=None, task_id="plain"))
    assert default.commit is not None and default.commit.on_failure == "discard"
    assert "on_failure" not in default.commit.to_dict()  # the default is not written out
