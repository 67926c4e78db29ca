"""End to end: a generated Jenkinsfile's steps, replayed the way Jenkins runs them, against a git
server that checks the push token (tests/gitserver.py).

Jenkins runs every `sh '…'` step as `sh -xe` in a fresh process in the workspace: nothing a step
exports reaches the next one. What carries over is what the pipeline keeps: the environment
block (credentials('…') bound for every step), `env.X = sh(script: '…', returnStdout:
true).trim()` (the step's trimmed stdout, in the environment of every later step), and
`withCredentials([usernamePassword(…)]) { … }` (the user and password variables in the
environment of the steps inside the block only). The replay below does exactly that, with the
steps read from the generated file (Groovy single-quoted literals unescaped), in a detached
checkout, without a terminal, and stops at the first failing step as Jenkins does.

No `bassi` is on the agent's PATH, so every step after the install must call
`.bassi-venv/bin/bassi` by its path. One test installs bassi for real: a virtual environment in
the workspace, and pip installing this checkout into it (offline, the dependencies from the
interpreter's own site packages); the commit-back tests, where the install is not the point, use
an install command that writes `.bassi-venv/bin/bassi` as a wrapper of this checkout (seconds
faster each).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.ci.request import BOT_NAME
from bassi_ci.generators.jenkins import VENV_DIR, groovy_string
from tests.cli import run_cli
from tests.fakeapi import FakeMessagesAPI, from_script
from tests.generators.helpers import ROOT, files_holding, run_git, write_task
from tests.gitserver import GitServer, basic

pytestmark = pytest.mark.slow

# --------------------------------------------------------------------------- reading a Jenkinsfile

_TOKEN = re.compile(r"\s+|//[^\n]*|'(?:[^'\\\n]|\\.)*'|\w+|[^\s\w]")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "\\": "\\", "'": "'", '"': '"', "$": "$"}
STR = object()  # stands for a string literal in a token pattern


def groovy_unescape(literal: str) -> str:
    """The value of a Groovy single-quoted string literal."""
    assert literal[0] == literal[-1] == "'", literal
    body, out, index = literal[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
        elif body[index + 1] == "u":
            out.append(chr(int(body[index + 2 : index + 6], 16)))
            index += 6
        else:
            out.append(_ESCAPES[body[index + 1]])
            index += 2
    return "".join(out)


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match is not None, text[position : position + 40]
        position = match.end()
        if not match.group().isspace() and not match.group().startswith("//"):
            tokens.append(match.group())
    return tokens


def _match(tokens: list[str], start: int, pattern: list[object]) -> list[str] | None:
    """The string literals (unescaped) of `pattern` at `tokens[start:]`, or None if it does not fit."""
    found = []
    if start + len(pattern) > len(tokens):
        return None
    for token, expected in zip(tokens[start:], pattern, strict=False):
        if expected is STR:
            if not token.startswith("'"):
                return None
            found.append(groovy_unescape(token))
        elif token != expected:
            return None
    return found


@dataclass(frozen=True)
class UsernamePassword:
    credentials_id: str
    user_variable: str
    password_variable: str


@dataclass(frozen=True)
class Step:
    script: str
    stdout_to: str | None = None  # env.NAME = sh(script: …, returnStdout: true).trim()
    bindings: tuple[UsernamePassword, ...] = ()  # the withCredentials blocks around it


@dataclass(frozen=True)
class Pipeline:
    environment: dict[str, str]  # NAME → credentials id, from the environment block
    steps: list[Step]


_WITH_CREDENTIALS = [
    "(",
    "[",
    "usernamePassword",
    "(",
    "credentialsId",
    ":",
    STR,
    ",",
    "usernameVariable",
    ":",
    STR,
    ",",
    "passwordVariable",
    ":",
    STR,
    ")",
    "]",
    ")",
    "{",
]
_RETURN_STDOUT = ["(", "script", ":", STR, ",", "returnStdout", ":", "true", ")", ".", "trim", "(", ")"]


def read_pipeline(text: str) -> Pipeline:
    """The shell steps of a declarative pipeline in order, with what Jenkins gives each one.

    Fails on any `sh` it does not understand, so a new kind of step cannot slip past the replay."""
    tokens = _tokens(text)
    environment: dict[str, str] = {}
    steps: list[Step] = []
    blocks: list[UsernamePassword | None] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "withCredentials":
            found = _match(tokens, index + 1, _WITH_CREDENTIALS)
            assert found is not None, f"a withCredentials the replay does not know: {tokens[index : index + 12]}"
            blocks.append(UsernamePassword(*found))
            index += 1 + len(_WITH_CREDENTIALS)
            continue
        if token == "{":
            blocks.append(None)
        elif token == "}":
            blocks.pop()
        elif token == "credentials" and tokens[index - 1] == "=":
            found = _match(tokens, index + 1, ["(", STR, ")"])
            assert found is not None
            environment[tokens[index - 2]] = found[0]
        elif token == "sh":
            bindings = tuple(block for block in blocks if block is not None)
            if tokens[index + 1].startswith("'"):
                steps.append(Step(groovy_unescape(tokens[index + 1]), bindings=bindings))
            else:
                found = _match(tokens, index + 1, _RETURN_STDOUT)
                assigned = tokens[index - 4 : index - 1]
                assert found is not None and assigned[:2] == ["env", "."] and tokens[index - 1] == "=", tokens[index:]
                steps.append(Step(found[0], stdout_to=assigned[2], bindings=bindings))
        index += 1
    assert not blocks, "unbalanced braces"
    return Pipeline(environment, steps)


# --------------------------------------------------------------------------- running it


@dataclass(frozen=True)
class StepRun:
    step: Step
    returncode: int
    stdout: str
    stderr: str


def replay(
    pipeline: Pipeline, workspace: Path, env: Mapping[str, str], credentials: Mapping[str, str | tuple[str, str]]
) -> list[StepRun]:
    """Run the steps as Jenkins does; `credentials` is Jenkins' store (secret text, or user and password)."""
    base = dict(env)
    for name, credentials_id in pipeline.environment.items():
        secret = credentials[credentials_id]
        assert isinstance(secret, str), f"{credentials_id} is not a secret text credential"
        base[name] = secret
    runs = []
    for step in pipeline.steps:
        step_env = dict(base)
        for binding in step.bindings:
            pair = credentials[binding.credentials_id]
            assert isinstance(pair, tuple), f"{binding.credentials_id} is not a username with password"
            user, password = pair
            step_env[binding.user_variable] = user
            step_env[binding.password_variable] = password
        proc = subprocess.run(
            ["sh", "-xe", "-c", step.script],
            cwd=workspace,
            env=step_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            start_new_session=True,  # no controlling terminal: nothing can prompt, as on an agent
            timeout=120,
        )
        runs.append(StepRun(step, proc.returncode, proc.stdout, proc.stderr))
        if proc.returncode != 0:
            break  # the build fails; later steps and stages do not run
        if step.stdout_to is not None:
            base[step.stdout_to] = proc.stdout.strip()
    return runs


# --------------------------------------------------------------------------- the project

READ_TOKEN = "jenkins-checkout-T0kenThatMayOnlyRead"
PUSH_USER = "jenkins-bot"
PUSH_TOKEN = "jenkinsPushT0kenOfTheBot0123456789"
REPORT = "reports/x.md"
TASK_FILE = ".bassi/tasks/notes.yaml"


# The default install command's shape, offline: this checkout instead of bassi-ci from PyPI, the
# dependencies from the interpreter's site packages (--system-site-packages, --no-deps).
VENV_INSTALL = (
    f"python3 -m venv --system-site-packages {VENV_DIR} && {VENV_DIR}/bin/pip install --quiet "
    f"--disable-pip-version-check --no-deps --no-build-isolation --no-index {ROOT}"
)

# Puts the same place a wrapper that runs this checkout's bassi.
WRAPPER = f'#!/bin/sh\\nPYTHONPATH={ROOT} exec {sys.executable} -m bassi_ci "$@"\\n'
WRAPPER_INSTALL = (
    f"mkdir -p {VENV_DIR}/bin && printf '{WRAPPER}' > {VENV_DIR}/bin/bassi && chmod +x {VENV_DIR}/bin/bassi"
)


def agent_path(tmp_path: Path) -> str:
    """The Jenkins agent's PATH: this interpreter as `python3`, the system's programs, and no `bassi`."""
    python_dir = tmp_path / "python-only"
    python_dir.mkdir()
    (python_dir / "python3").symlink_to(sys.executable)
    path = os.pathsep.join([str(python_dir), "/usr/local/bin", "/usr/bin", "/bin"])
    assert shutil.which("bassi", path=path) is None, "a bassi on PATH would hide a step that lost its venv"
    return path


def push_forms(token: str) -> tuple[str, str]:
    return token, base64.b64encode(f"{PUSH_USER}:{token}".encode()).decode()


@dataclass(frozen=True)
class Job:
    pipeline: Pipeline
    workspace: Path
    env: dict[str, str]


def jenkins_job(tmp_path: Path, server: GitServer, install: str = WRAPPER_INSTALL, **task: Any) -> Job:
    """A project with task `notes` (commit: reports/*.md; `task` adds or replaces fields) and its
    generated Jenkinsfile, on the git server; the job's workspace is a detached checkout of main,
    as the git plugin leaves it."""
    server.readers["jenkins-checkout"] = READ_TOKEN
    server.writers[PUSH_USER] = PUSH_TOKEN
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
    folder = str(seed / ".bassi" / "tasks")
    code, _, err = run_cli(
        "ci", "generate", "--target", "jenkins", "--tasks-dir", folder, "--out", str(seed), "--install-command", install
    )
    assert code == 0, err
    run_git(seed, "init", "-q", "-b", "main")
    run_git(seed, "add", "-A")
    run_git(seed, "commit", "-q", "-m", "ci")
    run_git(seed, "push", "-q", str(server.bare), "HEAD:refs/heads/main")
    workspace = tmp_path / "workspace"
    # The git plugin fetches with its own credential, which it does not leave in .git/config.
    header = f"http.extraHeader=Authorization: {basic('jenkins-checkout', READ_TOKEN)}"
    run_git(tmp_path, "-c", header, "clone", "-q", server.url(), str(workspace))
    run_git(workspace, "checkout", "-q", "--detach")
    text = (seed / "jenkins" / "bassi-notes.Jenkinsfile").read_text()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ANTHROPIC_API_KEY", "GIT_", "BASSI_PUSH")) and name not in ("SSH_ASKPASS",)
    }
    env.pop("PYTHONPATH", None)  # bassi comes from the venv, not from this checkout's folder
    env.update(
        {
            "PATH": agent_path(tmp_path),
            "WORKSPACE": str(workspace),
            "GIT_BRANCH": "origin/main",
            "GIT_COMMIT": run_git(workspace, "rev-parse", "HEAD"),
        }
    )
    return Job(read_pipeline(text), workspace, env)


def run_job(job: Job, fake_api: FakeMessagesAPI, agent_command: str, push_token: str = PUSH_TOKEN) -> list[StepRun]:
    fake_api.enqueue(
        from_script({"type": "tool_use", "calls": [["bash", {"command": agent_command}]]}),
        from_script({"type": "text", "text": "report written"}),
    )
    credentials: dict[str, str | tuple[str, str]] = {
        "anthropic-api-key": "fake-key-jenkins",
        "bassi-git-push": (PUSH_USER, push_token),
    }
    return replay(job.pipeline, job.workspace, job.env, credentials)


def log_of(runs: list[StepRun]) -> str:
    return "\n".join(run.stdout + run.stderr for run in runs)


# --------------------------------------------------------------------------- tests


def test_each_step_calls_the_venv_bassi_that_the_install_step_left(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    """A real venv, a real pip install of this checkout; no PATH carries over from step to step."""
    job = jenkins_job(tmp_path, git_server, install=VENV_INSTALL)
    runs = run_job(job, fake_api, f"mkdir -p reports && echo '# Report' > {REPORT}")
    log = log_of(runs)
    assert [run.returncode for run in runs] == [0, 0, 0, 0, 0], log[-4000:]
    assert runs[1].stdout.startswith("bassi, version ")
    # The bassi that ran is the one the install step put into the venv (its own copy of the package).
    venv = job.workspace / VENV_DIR
    imported = subprocess.run(
        [venv / "bin" / "python", "-c", "import bassi_ci; print(bassi_ci.__file__)"],
        cwd=job.workspace,  # as in the steps (`python -c` looks in its working directory first)
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": job.env["PATH"]},
    ).stdout.strip()
    assert Path(imported).is_relative_to(venv), imported
    # The venv hides itself from git: nothing of it in `git status` or in the pushed commit.
    status = run_git(job.workspace, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert "?? bassi-result.json" in status  # the control: untracked files do show
    assert not [line for line in status if VENV_DIR in line], status
    pushed = git_server.git("show", "--name-only", "--format=", "main")
    assert pushed == REPORT


def test_a_path_exported_by_the_install_step_is_gone_in_the_next_step(tmp_path: Path, git_server: GitServer) -> None:
    """Why the venv: the old install commands put bassi on PATH, which the next `sh` step never sees.
    The step after the install names the missing program, before any run."""
    bin_dir = tmp_path / "exported-bin"
    shim = f'#!/bin/sh\\nexec {sys.executable} -m bassi_ci "$@"\\n'
    install = (
        f"mkdir -p {bin_dir} && printf '{shim}' > {bin_dir}/bassi && chmod +x {bin_dir}/bassi "
        f"&& export PATH={bin_dir}:$PATH && bassi --version"  # the control: bassi is found in this step
    )
    job = jenkins_job(tmp_path, git_server, install=install)
    runs = replay(job.pipeline, job.workspace, {**job.env, "PYTHONPATH": str(ROOT)}, {"anthropic-api-key": "k"})
    assert [run.returncode for run in runs] == [0, 127], log_of(runs)
    assert "bassi, version" in runs[0].stdout
    assert ".bassi-venv/bin/bassi: not found" in runs[1].stderr


def test_the_replay_reads_every_step_of_the_generated_jenkinsfile(tmp_path: Path, git_server: GitServer) -> None:
    job = jenkins_job(tmp_path, git_server)
    assert job.pipeline.environment == {"ANTHROPIC_API_KEY": "anthropic-api-key"}
    steps = job.pipeline.steps
    assert [step.stdout_to for step in steps] == [None, None, "BASSI_GIT_STATE", None, None]
    assert steps[0].script == WRAPPER_INSTALL
    assert steps[1].script == ".bassi-venv/bin/bassi --version && echo '*' > .bassi-venv/.gitignore"
    assert steps[2].script == ".bassi-venv/bin/bassi ci git-state"
    # The run step keeps the run's exit code in a file; the commit step ends with it.
    assert steps[3].script == (
        f"run_rc=0; .bassi-venv/bin/bassi execute {TASK_FILE} --ci --junit bassi-junit.xml > bassi-result.json "
        '|| run_rc=$?; echo "$run_rc" > .bassi-venv/run-exit-code'
    )
    assert steps[4].script == (
        'run_rc="$(cat .bassi-venv/run-exit-code)"; commit_rc=0; '
        f".bassi-venv/bin/bassi ci commit --task {TASK_FILE} --result bassi-result.json "
        '--git-state "$BASSI_GIT_STATE" --push-token-env BASSI_PUSH_TOKEN --push-user-env BASSI_PUSH_USER '
        '--branch "${GIT_BRANCH#origin/}" || commit_rc=$?; '
        'if [ "$run_rc" -ne 0 ]; then exit "$run_rc"; fi; exit "$commit_rc"'
    )
    # The push credential is bound around the commit step alone.
    binding = UsernamePassword("bassi-git-push", "BASSI_PUSH_USER", "BASSI_PUSH_TOKEN")
    assert [step.bindings for step in steps] == [(), (), (), (), (binding,)]


@pytest.mark.parametrize("text", ["plain", "it's", "back\\slash", "${env.X} $HOME", "two\nlines\r", "tab\there"])
def test_groovy_literals_read_back(text: str) -> None:
    assert groovy_unescape(groovy_string(text)) == text


def test_jenkins_commit_back_pushes_with_the_bound_credential_alone(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    job = jenkins_job(tmp_path, git_server)
    before = git_server.git("rev-parse", "main")
    agent_env, proc_env = tmp_path / "agent-env.txt", tmp_path / "proc-environ.txt"
    command = (
        f"mkdir -p reports && echo '# Report' > {REPORT} && env > {agent_env}; "
        # Every environment on this machine the agent can read, its ancestors' included.
        f"for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done > {proc_env} 2>/dev/null; true"
    )
    runs = run_job(job, fake_api, command)
    log = log_of(runs)
    assert [run.returncode for run in runs] == [0, 0, 0, 0, 0], log[-4000:]
    assert runs[2].stdout.strip().startswith("gs1-")

    # The push arrived, as the bot, with the credential Jenkins bound (its user name included).
    assert git_server.git("rev-parse", "main^") == before
    assert git_server.git("log", "-1", "--format=%an", "main") == BOT_NAME
    assert git_server.git("show", f"main:{REPORT}") == "# Report"
    pushes = git_server.pushes()
    assert pushes and {(push.user, push.status) for push in pushes} == {(PUSH_USER, 200)}

    # The agent never had the credential: not in its environment, nor in any process's it could read.
    seen = agent_env.read_text()
    assert "BASSI_GIT_STATE=gs1-" in seen and "GIT_BRANCH=origin/main" in seen  # the control
    assert "BASSI_PUSH_TOKEN" not in seen and "BASSI_PUSH_USER" not in seen
    assert "BASSI_BASH_SESSION=" in proc_env.read_text()  # the scan did read environments
    for form in push_forms(PUSH_TOKEN):
        assert form not in seen and form not in proc_env.read_text()
        assert form not in log  # `sh -x` traces every command
    assert files_holding(job.workspace, *push_forms(PUSH_TOKEN)) == []
    assert "extraheader" not in (job.workspace / ".git" / "config").read_text()


def test_jenkins_commit_back_with_a_wrong_token_fails_and_pushes_nothing(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    job = jenkins_job(tmp_path, git_server)
    before = git_server.git("rev-parse", "main")
    wrong = "jenkinsWrongT0ken9876543210"
    runs = run_job(job, fake_api, f"mkdir -p reports && echo '# Report' > {REPORT}", push_token=wrong)
    log = log_of(runs)
    assert [run.returncode for run in runs] == [0, 0, 0, 0, 1], log[-4000:]
    assert "bassi: error: push to origin/main failed" in runs[4].stderr
    assert git_server.git("rev-parse", "main") == before
    tried = [request for request in git_server.requests if request.is_push]
    assert tried and all(request.user is None and request.status == 401 for request in tried)
    for form in push_forms(wrong):
        assert form not in log


def test_jenkins_commit_back_refuses_a_filter_the_agent_planted(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    job = jenkins_job(tmp_path, git_server)
    before = git_server.git("rev-parse", "main")
    witness, evil = tmp_path / "witness.txt", tmp_path / "evil.sh"
    evil.write_text(f"#!/bin/sh\nenv > {witness}\ncat\n")
    evil.chmod(0o755)
    command = (
        f"mkdir -p reports && echo '# Report' > {REPORT} && git config filter.evil.clean {evil} "
        "&& echo '*.md filter=evil' >> .git/info/attributes"
    )
    runs = run_job(job, fake_api, command)
    log = log_of(runs)
    assert [run.returncode for run in runs] == [0, 0, 0, 0, 1], log[-4000:]
    refusal = "bassi: error: refusing to commit back: its git configuration or HEAD changed during the run"
    assert refusal in runs[4].stderr
    assert not witness.exists(), "commit-back ran the filter the agent configured"
    assert git_server.git("rev-parse", "main") == before
    assert not any(request.is_push for request in git_server.requests)
    # The control: the planted filter is live; git runs it as soon as it stages the report.
    run_git(job.workspace, "add", REPORT)
    assert witness.exists()


# --------------------------------------------------------------------------- a failed run's work

ONE_TURN = {"max_turns": 1}  # the agent writes the report in its one turn, then the run hits the limit


def branches(server: GitServer) -> list[str]:
    return server.git("for-each-ref", "--format=%(refname:short)", "refs/heads").splitlines()


def test_a_failed_run_with_on_failure_branch_pushes_its_work_and_fails_the_build(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    commit = {"paths": ["reports/*.md"], "on_failure": "branch"}
    job = jenkins_job(tmp_path, git_server, limits=ONE_TURN, commit=commit)
    before = git_server.git("rev-parse", "main")
    runs = run_job(job, fake_api, f"mkdir -p reports && echo '# Draft' > {REPORT}")
    log = log_of(runs)
    # The run step succeeds (it kept the code), the commit stage ran, and the build fails as the run did.
    assert [run.returncode for run in runs] == [0, 0, 0, 0, 5], log[-4000:]
    result = json.loads((job.workspace / "bassi-result.json").read_text())
    assert (result["status"], result["exit_code"]) == ("limit_reached", 5)
    side = f"bassi/notes/{result['run_id']}"
    assert f"work-branch={side}" in runs[4].stdout
    assert git_server.git("rev-parse", "main") == before  # nothing reached the job's branch
    assert sorted(branches(git_server)) == sorted(["main", side])
    assert git_server.git("show", f"{side}:{REPORT}") == "# Draft"
    assert git_server.git("log", "-1", "--format=%an", side) == BOT_NAME
    assert {push.user for push in git_server.pushes()} == {PUSH_USER}
    for form in push_forms(PUSH_TOKEN):
        assert form not in log


def test_a_failed_run_with_discard_pushes_nothing_and_fails_with_the_runs_code(
    tmp_path: Path, fake_api: FakeMessagesAPI, git_server: GitServer
) -> None:
    job = jenkins_job(tmp_path, git_server, limits=ONE_TURN)
    before = git_server.git("rev-parse", "main")
    runs = run_job(job, fake_api, f"mkdir -p reports && echo '# Draft' > {REPORT}")
    log = log_of(runs)
    assert [run.returncode for run in runs] == [0, 0, 0, 0, 5], log[-4000:]  # the run's code, not commit-back's 1
    assert (job.workspace / REPORT).exists()  # there was work, and it was dropped
    # One line says why nothing was committed and how to keep such work; nothing claims a commit.
    said = [line for line in runs[4].stderr.splitlines() if line.startswith("bassi:")]
    assert said == [
        "bassi: error: not committing: the run in bassi-result.json ended with status limit_reached; its changes "
        "were discarded (set commit.on_failure: branch in the task to push such work to the side branch "
        "bassi/<task_id>/<run_id>)"
    ], runs[4].stderr
    assert "commit-sha=" not in runs[4].stdout and "work-branch=" not in runs[4].stdout
    assert git_server.git("rev-parse", "main") == before and branches(git_server) == ["main"]
    assert not any(request.is_push for request in git_server.requests)
