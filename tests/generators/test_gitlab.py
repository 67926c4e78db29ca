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
    assert shlex.split(script[1])[:6] == [
        "env",
        "-u",
        "BASSI_PUSH_TOKEN",
        "bassi",
        "execute",
        "ops/agent tasks/weekly.yaml",
    ]
    assert len(script) == 3
    words = shlex.split(script[2])
    assert words[words.index("bassi") :] == [
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
