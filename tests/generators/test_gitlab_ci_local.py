"""End to end: the generated GitLab job runs under gitlab-ci-local (shell executor, no image).

gitlab-ci-local's shell executor runs the job in the repository it is started in (CI_PROJECT_DIR
is that folder; only `--shell-isolation` would copy it to .gitlab-ci-local/builds/), so the
checkout below is the job's working tree. For commit-back that checkout is a clone from a
token-checking git server (tests/gitserver.py) over http, with GitLab's job-token credential
in its origin URL as GitLab's runner leaves it: that credential may fetch but not push, so a
push only arrives when `bassi ci commit` really sends BASSI_PUSH_TOKEN.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.ci.request import BOT_NAME
from tests.ci.test_review import FakeGitlab, serving
from tests.fakeapi import FakeMessagesAPI, from_script
from tests.generators.helpers import ROOT, files_holding, generate, install_shim, load_yaml, run_git, write_task
from tests.gitserver import GitServer
from tests.oracles import requires

# gitlab-ci-local also needs rsync; both are checked before any fixture starts.
pytestmark = [pytest.mark.slow, requires("gitlab-ci-local", "rsync")]


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, capture_output=True, check=True
    )


def gitlab_ci_local() -> str:
    """The gitlab-ci-local program (the module is marked requires("gitlab-ci-local", "rsync"))."""
    tool = shutil.which("gitlab-ci-local")
    assert tool is not None
    return tool


def test_generated_job_runs_in_a_scheduled_pipeline(tmp_path: Path, fake_api: FakeMessagesAPI) -> None:
    tool = gitlab_ci_local()
    repo = tmp_path / "repo"
    repo.mkdir()
    write_task(
        repo,
        "nightly.yaml",
        id="nightly",
        prompt="Write the nightly note",
        schedule="daily 02:30",
        timezone="Europe/Berlin",
    )
    # The job's install step puts this checkout's `bassi` on PATH (no build, no download); the
    # default install command is `pip install bassi-ci`.
    install = install_shim(tmp_path / "bin")
    code, _, err = generate(repo, "--target", "gitlab", "--gitlab-image", "", "--install-command", install)
    assert code == 0, err
    (repo / ".gitlab-ci.yml").write_text("include:\n  - local: .gitlab/bassi.gitlab-ci.yml\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "ci")
    assert "bassi-nightly" in load_yaml(repo / ".gitlab/bassi.gitlab-ci.yml")

    fake_api.enqueue(
        from_script({"type": "tool_use", "calls": [["bash", {"command": "echo note > note.txt"}]]}),
        from_script({"type": "text", "text": "nightly done"}),
    )
    variables = {
        "CI_PIPELINE_SOURCE": "schedule",
        "BASSI_TASK": "nightly",
        "ANTHROPIC_BASE_URL": fake_api.base_url,
        "ANTHROPIC_API_KEY": "fake-key-gitlab",
        "BASSI_HOME": str(tmp_path / "bassi-home"),
    }
    args = [tool]
    for key, value in variables.items():
        args += ["--variable", f"{key}={value}"]
    proc = subprocess.run([*args, "bassi-nightly"], cwd=repo, capture_output=True, text=True, check=False, timeout=240)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "nightly done" in log

    artifacts = repo / ".gitlab-ci-local" / "artifacts" / "bassi-nightly"
    result_files = list(artifacts.rglob("bassi-result.json"))
    assert result_files, f"no result artifact under {artifacts}"
    result = json.loads(result_files[0].read_text())
    assert result["status"] == "success" and result["task_id"] == "nightly"
    junit = ET.parse(next(artifacts.rglob("bassi-junit.xml"))).getroot()
    assert junit.get("failures") == "0"

    # Without the schedule variable the job is not part of the pipeline at all.
    proc = subprocess.run([tool, "--list"], cwd=repo, capture_output=True, text=True, check=False, timeout=120)
    assert "bassi-nightly" not in proc.stdout


# --------------------------------------------------------------------------- commit-back

JOB_TOKEN = "glcbt-JobT0kenThatMayOnlyRead"  # what GitLab's runner puts into the origin URL
PUSH_TOKEN = "glpat-E2ePushT0kenOfTheProject42"  # the masked CI/CD variable BASSI_PUSH_TOKEN
PUSH_FORMS = (PUSH_TOKEN, base64.b64encode(f"oauth2:{PUSH_TOKEN}".encode()).decode())
VISIBLE = "BASSI_E2E_JOB_VARIABLE=reaches-the-agent"  # a job variable that is no secret: the control
REPORT = "reports/x.md"


def commit_checkout(tmp_path: Path, server: GitServer, **task: Any) -> Path:
    """A project whose task `notes` may commit reports/*.md (`task` adds or replaces fields), on the
    git server, and the job's checkout of it: cloned over http with the job token in the origin
    URL, branch main."""
    server.readers["gitlab-ci-token"] = JOB_TOKEN
    server.writers["oauth2"] = PUSH_TOKEN
    seed = tmp_path / "seed"
    seed.mkdir()
    write_task(
        seed,
        "notes.yaml",
        id="notes",
        prompt="Write the report",
        schedule="daily 02:30",
        timezone="UTC",
        **{"commit": {"paths": ["reports/*.md"]}, **task},
    )
    install = install_shim(tmp_path / "bin")
    code, _, err = generate(seed, "--target", "gitlab", "--gitlab-image", "", "--install-command", install)
    assert code == 0, err
    (seed / ".gitlab-ci.yml").write_text("include:\n  - local: .gitlab/bassi.gitlab-ci.yml\n")
    run_git(seed, "init", "-q", "-b", "main")
    run_git(seed, "add", "-A")
    run_git(seed, "commit", "-q", "-m", "ci")
    run_git(seed, "push", "-q", str(server.bare), "HEAD:refs/heads/main")
    repo = tmp_path / "repo"
    run_git(tmp_path, "clone", "-q", server.url("gitlab-ci-token", JOB_TOKEN), str(repo))
    return repo


def run_job(
    repo: Path,
    fake_api: FakeMessagesAPI,
    agent_command: str,
    *,
    push_token: str | None = PUSH_TOKEN,
    extra: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """The scheduled pipeline of task `notes` in gitlab-ci-local; the agent runs `agent_command` once."""
    tool = gitlab_ci_local()
    fake_api.enqueue(
        from_script({"type": "tool_use", "calls": [["bash", {"command": agent_command}]]}),
        from_script({"type": "text", "text": "report written"}),
    )
    variables = [
        "CI_PIPELINE_SOURCE=schedule",
        "BASSI_TASK=notes",
        f"ANTHROPIC_BASE_URL={fake_api.base_url}",
        "ANTHROPIC_API_KEY=fake-key-gitlab",
        f"BASSI_HOME={repo.parent / 'bassi-home'}",
        VISIBLE,
    ]
    if push_token is not None:
        variables.append(f"BASSI_PUSH_TOKEN={push_token}")
    variables += extra
    args = [tool]
    for variable in variables:
        args += ["--variable", variable]
    return subprocess.run([*args, "bassi-notes"], cwd=repo, capture_output=True, text=True, check=False, timeout=240)


def test_commit_back_pushes_with_the_push_token_alone(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    repo = commit_checkout(tmp_path, git_server)
    before = git_server.git("rev-parse", "main")
    agent_env = tmp_path / "agent-env.txt"
    proc = run_job(repo, fake_api, f"mkdir -p reports && echo '# Report' > {REPORT} && env > {agent_env}")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]

    # The push arrived, as the bot, with the push token (the job token may not push).
    assert git_server.git("rev-parse", "main^") == before
    assert git_server.git("log", "-1", "--format=%an", "main") == BOT_NAME
    assert git_server.git("show", f"main:{REPORT}") == "# Report"
    assert git_server.git("diff-tree", "--no-commit-id", "--name-only", "-r", "main") == REPORT
    pushes = git_server.pushes()
    assert pushes and {push.user for push in pushes} == {"oauth2"}
    assert all(push.status == 200 for push in pushes)

    # The agent ran without the token; the job's other variables did reach it (the control).
    seen = agent_env.read_text()
    assert VISIBLE in seen
    assert "BASSI_PUSH_TOKEN" not in seen and PUSH_TOKEN not in seen
    # The token is in no log line and in no file of the checkout (.git/config included), nor in
    # bassi's home (run logs, history).
    for form in PUSH_FORMS:
        assert form not in log
    assert files_holding(repo, *PUSH_FORMS) == []
    assert files_holding(tmp_path / "bassi-home", *PUSH_FORMS) == []
    assert "extraheader" not in (repo / ".git" / "config").read_text()


PLANTED = {
    # A clean filter runs when commit-back stages the report; the attribute is a tree file.
    "filter": "git config filter.evil.clean {evil} && echo '*.md filter=evil' > .gitattributes",
    # A signing program runs when commit-back commits; both are keys in .git/config.
    "gpg.program": "git config commit.gpgSign true && git config gpg.program {evil}",
}


@pytest.mark.parametrize("planted", sorted(PLANTED))
def test_commit_back_refuses_git_configuration_the_agent_planted(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer, planted: str
) -> None:
    repo = commit_checkout(tmp_path, git_server)
    before = git_server.git("rev-parse", "main")
    witness = tmp_path / "witness.txt"
    evil = tmp_path / "evil.sh"
    evil.write_text(f"#!/bin/sh\nenv > {witness}\ncat\n")
    evil.chmod(0o755)
    command = f"mkdir -p reports && echo '# Report' > {REPORT} && " + PLANTED[planted].format(evil=evil)
    proc = run_job(repo, fake_api, command)
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-4000:]
    assert "refusing to commit back" in log and "nothing was committed or pushed" in log
    assert not witness.exists(), "commit-back ran a program the agent configured"
    assert git_server.git("rev-parse", "main") == before
    assert not any(request.is_push for request in git_server.requests)
    assert files_holding(repo, *PUSH_FORMS) == []

    # The control: what the agent planted is live. Commit-back without the state check runs it
    # (and even then the program does not get the token, which bassi keeps for the push).
    env = {"BASSI_PUSH_TOKEN": PUSH_TOKEN, "PYTHONPATH": str(ROOT)}
    unguarded = ["--task", ".bassi/tasks/notes.yaml", "--result", "bassi-result.json"]
    subprocess.run(
        [sys.executable, "-m", "bassi_ci", "ci", "commit", *unguarded, "--push-token-env", "BASSI_PUSH_TOKEN"],
        cwd=repo,
        capture_output=True,
        check=False,
        env={**os.environ, **env},
        timeout=60,
    )
    assert witness.exists(), f"the planted {planted} did not run even without the state check"
    assert PUSH_TOKEN not in witness.read_text()


def test_commit_back_without_the_push_token_fails_with_one_clear_line(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    repo = commit_checkout(tmp_path, git_server)
    before = git_server.git("rev-parse", "main")
    proc = run_job(repo, fake_api, f"mkdir -p reports && echo '# Report' > {REPORT}", push_token=None)
    assert proc.returncode != 0, (proc.stdout + proc.stderr)[-4000:]
    job_log = (repo / ".gitlab-ci-local" / "output" / "bassi-notes.log").read_text()
    lines = [line for line in job_log.splitlines() if "bassi: error:" in line]
    assert len(lines) == 1, job_log[-4000:]
    assert "--push-token-env BASSI_PUSH_TOKEN: the variable is not set" in lines[0]
    assert "masked CI/CD variable" in lines[0]
    assert git_server.git("rev-parse", "main") == before
    assert not any(request.is_push for request in git_server.requests)


# --------------------------------------------------------------------------- a failed run's work

ONE_TURN = {"max_turns": 1}  # the agent writes the report in its one turn, then the run hits the limit


def branches(server: GitServer) -> list[str]:
    return server.git("for-each-ref", "--format=%(refname:short)", "refs/heads").splitlines()


def failed_with(log: str) -> int | None:
    """The exit code gitlab-ci-local reports for the failed job (`bassi-notes finished in 4.6 s  FAIL 5`)."""
    found = re.search(r"^bassi-notes finished in .* FAIL (\d+)\b", log, re.MULTILINE)
    return int(found.group(1)) if found else None


def job_log(repo: Path) -> str:
    return (repo / ".gitlab-ci-local" / "output" / "bassi-notes.log").read_text()


def test_a_failed_run_with_on_failure_branch_pushes_its_work_and_fails_the_job(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    commit = {"paths": ["reports/*.md"], "on_failure": "branch"}
    repo = commit_checkout(tmp_path, git_server, limits=ONE_TURN, commit=commit)
    before = git_server.git("rev-parse", "main")
    proc = run_job(repo, fake_api, f"mkdir -p reports && echo '# Draft' > {REPORT}")
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log[-4000:]
    result = json.loads((repo / "bassi-result.json").read_text())
    assert (result["status"], result["exit_code"]) == ("limit_reached", 5)
    side = f"bassi/notes/{result['run_id']}"
    text = job_log(repo)
    assert f"work-branch={side}" in text and failed_with(log) == 5, log[-3000:]
    assert git_server.git("rev-parse", "main") == before  # nothing reached the job's branch
    assert sorted(branches(git_server)) == sorted(["main", side])
    assert git_server.git("show", f"{side}:{REPORT}") == "# Draft"
    assert {push.user for push in git_server.pushes()} == {"oauth2"}
    for form in PUSH_FORMS:
        assert form not in log and form not in text


def test_a_failed_run_with_discard_pushes_nothing_and_fails_the_job(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    repo = commit_checkout(tmp_path, git_server, limits=ONE_TURN)
    before = git_server.git("rev-parse", "main")
    proc = run_job(repo, fake_api, f"mkdir -p reports && echo '# Draft' > {REPORT}")
    log = proc.stdout + proc.stderr
    assert failed_with(log) == 5, log[-3000:]  # the run's code, not commit-back's 1
    text = job_log(repo)
    assert "its changes were discarded (set commit.on_failure: branch" in text, text[-4000:]
    assert "work-branch=" not in text and "commit-sha=" not in text
    assert git_server.git("rev-parse", "main") == before and branches(git_server) == ["main"]
    assert not any(request.is_push for request in git_server.requests)


def test_a_failed_run_with_pull_request_opens_a_draft_merge_request_from_its_side_branch(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    """The generated job may use pull_request: true now; the merge request goes through GitLab's REST
    API (here a local fake of it), authenticated with the push token."""
    commit = {"paths": ["reports/*.md"], "on_failure": "branch", "pull_request": True}
    repo = commit_checkout(tmp_path, git_server, limits=ONE_TURN, commit=commit)
    with serving(FakeGitlab()) as gitlab:
        # The project's API, as GitLab's runner gives it to every job (here: the fake's address).
        api = ("GITLAB_CI=true", f"CI_API_V4_URL={gitlab.url}", "CI_PROJECT_ID=grp/proj", "CI_COMMIT_BRANCH=main")
        proc = run_job(repo, fake_api, f"mkdir -p reports && echo '# Draft' > {REPORT}", extra=api)
    log = proc.stdout + proc.stderr
    assert failed_with(log) == 5, log[-3000:]
    run_id = json.loads((repo / "bassi-result.json").read_text())["run_id"]
    side = f"bassi/notes/{run_id}"
    assert git_server.git("show", f"{side}:{REPORT}") == "# Draft"
    ((method, path, headers, payload),) = gitlab.requests
    assert (method, path) == ("POST", "/api/v4/projects/grp%2Fproj/merge_requests")
    assert headers["private-token"] == PUSH_TOKEN
    assert (payload["source_branch"], payload["target_branch"]) == (side, "main")
    assert payload["title"].startswith("Draft: ")
    text = job_log(repo)
    assert f"pull-request-url={gitlab.reply['web_url']}" in text and f"work-branch={side}" in text, text[-3000:]
    for form in PUSH_FORMS:
        assert form not in log and form not in text
