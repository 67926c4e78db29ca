"""The GitLab include file: structure, schema, escaping, commit-back."""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.cli import run_cli
from tests.generators.helpers import GITLAB, NASTY, custom_tasks, generate, load_yaml, write_task
from tests.oracles import check_schema, requires


@requires("check-jsonschema")
def test_gitlab_jobs_run_only_in_their_schedule(tmp_path: Path) -> None:
    write_task(
        tmp_path,
        "a.yaml",
        id="weekly",
        prompt=NASTY,
        name=NASTY,
        schedule="monday 09:00",
        timezone="Europe/Berlin",
        limits={"timeout": 600},
        vars={"v": NASTY},
    )
    write_task(tmp_path, "b.yaml", id="paused", prompt="p", schedule="hourly", timezone="UTC", enabled=False)
    code, _out, err = generate(tmp_path, "--target", "gitlab")
    assert code == 0, err
    path = tmp_path / GITLAB
    jobs = load_yaml(path)
    job = jobs["bassi-weekly"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule" && $BASSI_TASK == "weekly"'}]
    assert job["script"] == [
        "pip install bassi-ci",
        "bassi execute .bassi/tasks/a.yaml --ci --junit bassi-junit.xml > bassi-result.json",
    ]
    assert job["artifacts"]["reports"] == {"junit": "bassi-junit.xml"}
    assert job["artifacts"]["when"] == "always"
    assert job["timeout"] == "15 minutes"
    assert job["image"] == "python:3.12"  # has git, which commit-back needs
    assert "touch /tmp/pwned" not in path.read_text()
    check_schema("vendor.gitlab-ci", path)
    # The schedule commands: printed, and kept in the file's header; paused tasks get none.
    commands = [line for line in err.splitlines() if line.startswith("glab ")]
    assert commands == [
        "glab schedule create --description 'bassi: weekly' --ref main --cron '0 9 * * 1' "
        "--cronTimeZone Europe/Berlin --variable BASSI_TASK:weekly"
    ]
    assert shlex.split(commands[0])[-1] == "BASSI_TASK:weekly"
    assert f"#   {commands[0]}" in path.read_text()


@requires("check-jsonschema")
def test_gitlab_install_command_and_image_are_configurable(tmp_path: Path) -> None:
    write_task(tmp_path, "a.yaml", id="a", prompt="p")
    assert generate(tmp_path, "--target", "gitlab", "--install-command", "pip install .", "--gitlab-image", "")[0] == 0
    job = load_yaml(tmp_path / GITLAB)["bassi-a"]
    assert "image" not in job and job["script"][0] == "pip install ."
    check_schema("vendor.gitlab-ci", tmp_path / GITLAB)


def test_gitlab_file_is_removed_when_no_task_is_left(tmp_path: Path) -> None:
    task = write_task(tmp_path, "a.yaml", id="a", prompt="p")
    assert generate(tmp_path, "--target", "gitlab")[0] == 0
    task.unlink()
    code, out, _ = generate(tmp_path, "--target", "gitlab")
    assert code == 0 and "removed .gitlab/bassi.gitlab-ci.yml" in out
    assert not (tmp_path / GITLAB).exists()


@requires("check-jsonschema")
def test_gitlab_runs_the_task_file_from_a_custom_folder_and_commits_back(tmp_path: Path) -> None:
    folder = custom_tasks(tmp_path, paths=["reports/*.md"], message="{task_id}: {date}")
    code, _, err = run_cli("ci", "generate", "--target", "gitlab", "--tasks-dir", str(folder), "--out", str(tmp_path))
    assert code == 0, err
    path = tmp_path / GITLAB
    script = load_yaml(path)["bassi-weekly"]["script"]
    assert script[1] == 'BASSI_GIT_STATE="$(bassi ci git-state)"'
    script = [script[0], *script[2:]]
    # The run's exit code is kept, commit-back runs after a failed run too, the job ends with the run's code.
    assert script[1].startswith("run_rc=0; ") and script[1].endswith(" || run_rc=$?")
    assert script[2].startswith("commit_rc=0; ") and script[2].endswith(" || commit_rc=$?")
    assert script[3] == 'if [ "$run_rc" -ne 0 ]; then exit "$run_rc"; fi; exit "$commit_rc"'
    assert shlex.split(script[1])[1:7] == [
        "env",
        "-u",
        "BASSI_PUSH_TOKEN",
        "bassi",
        "execute",
        "ops/agent tasks/weekly.yaml",
    ]
    assert len(script) == 4
    words = shlex.split(script[2])
    assert words[words.index("bassi") : words.index("||")] == [
        "bassi",
        "ci",
        "commit",
        "--task",
        "ops/agent tasks/weekly.yaml",
        "--result",
        "bassi-result.json",
        "--git-state",
        "$BASSI_GIT_STATE",
        "--push-token-env",
        "BASSI_PUSH_TOKEN",
        "--push-user",
        "oauth2",
        "--branch",
        "$CI_COMMIT_BRANCH",
    ]
    assert "BASSI_PUSH_TOKEN" in script[2] and "BASSI_PUSH_TOKEN" in path.read_text().split("bassi-weekly:")[0]
    assert "BASSI_PUSH_TOKEN" in err  # the credential note is printed too
    check_schema("vendor.gitlab-ci", path)


def test_gitlab_task_without_commit_has_no_commit_step(tmp_path: Path) -> None:
    folder = custom_tasks(tmp_path)
    assert run_cli("ci", "generate", "--target", "gitlab", "--tasks-dir", str(folder), "--out", str(tmp_path))[0] == 0
    script = load_yaml(tmp_path / GITLAB)["bassi-weekly"]["script"]
    assert len(script) == 2 and "commit" not in script[1]


@requires("check-jsonschema")
def test_gitlab_opens_merge_requests_with_a_token_that_has_the_api_scope(tmp_path: Path) -> None:
    folder = custom_tasks(tmp_path, paths=["reports/"], pull_request=True)
    code, _, err = run_cli("ci", "generate", "--target", "gitlab", "--tasks-dir", str(folder), "--out", str(tmp_path))
    assert code == 0, err
    path = tmp_path / GITLAB
    commit = load_yaml(path)["bassi-weekly"]["script"][3]
    assert "bassi ci commit --task" in commit
    # The merge request's branch is a new one (it targets CI_COMMIT_BRANCH by itself): no --branch.
    assert "--branch" not in commit
    assert "scopes write_repository and api" in err and "scopes write_repository and api" in path.read_text()
    check_schema("vendor.gitlab-ci", path)


def test_gitlab_needs_the_api_scope_only_for_merge_requests(tmp_path: Path) -> None:
    folder = custom_tasks(tmp_path, paths=["reports/"])
    assert run_cli("ci", "generate", "--target", "gitlab", "--tasks-dir", str(folder), "--out", str(tmp_path))[0] == 0
    text = (tmp_path / GITLAB).read_text()
    assert "scope write_repository)" in text and " api" not in text
