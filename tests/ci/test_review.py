"""Pull requests (a recording stand-in `gh` on PATH) and GitLab merge requests (a local fake
GitLab REST server) opened by commit-back, with a body that tells the run's story."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.ci.commit import commit_back
from bassi_ci.ci.request import build_commit_request
from tests.ci.helpers import TOKEN, clone, git
from tests.cli import run_cli
from tests.gitserver import GitServer

RUN_ID = "20270310T090000Z-a1b2c3"
SECRET = "plain-words-secret-value-42"
LINES = [f"line {n}" for n in range(1, 31)]
RESULT = {
    "status": "success",
    "exit_code": 0,
    "run_id": RUN_ID,
    "task_id": "weekly",
    "result": "\n".join([f"Report done; the key was {SECRET}", *LINES[1:]]),
    "total_cost_usd": 0.0123,
    "duration_ms": 83_400,
}
GITHUB_RUN = {"GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "77"}


@dataclass
class GhRecording:
    folder: Path

    def argv(self) -> list[str]:
        return (self.folder / "argv").read_text().split("\0")[:-1]

    def body(self) -> str:
        return (self.folder / "body.md").read_text()

    def text(self, name: str) -> str:
        return (self.folder / name).read_text().strip()


@pytest.fixture
def gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GhRecording:
    """A `gh` on PATH that records its argv (NUL-separated), a copy of its --body-file with that
    file's mode, and its GH_TOKEN, and prints a pull request URL."""
    folder = tmp_path / "gh-record"
    folder.mkdir()
    bin_dir = tmp_path / "gh-bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(
        "#!/bin/sh\n"
        f"cd '{folder}'\n"
        "printf '%s\\0' \"$@\" > argv\n"
        "prev=''\n"
        'for a in "$@"; do\n'
        '  if [ "$prev" = --body-file ]; then cp "$a" body.md; stat -c %a "$a" > body-mode; echo "$a" > body-path; fi\n'
        "  prev=$a\n"
        "done\n"
        "printf '%s' \"$GH_TOKEN\" > token\n"
        "echo https://github.example/o/r/pull/9\n"
    )
    (bin_dir / "gh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    for name in ("GH_TOKEN", "GITLAB_CI", "CI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    return GhRecording(folder)


def open_with_gh(work: Path, result: dict[str, Any], *, keep_failed_work: bool = False) -> Any:
    request = build_commit_request(
        None,
        repo=work,
        paths=("reports/",),
        message="weekly: report\n\nmore lines of the message",
        branch=None,
        pull_request=True,
        task_id="weekly",
        run_id=RUN_ID,
        cli_vars={},
        run_result=result,
        keep_failed_work=keep_failed_work,
        environ={**os.environ, **GITHUB_RUN},
        push_token=TOKEN,
    )
    return commit_back(request)


def write_report(work: Path) -> None:
    (work / "reports").mkdir(exist_ok=True)
    (work / "reports" / "week.md").write_text("report\n")


def test_the_pull_request_body_comes_from_the_run_through_a_private_file(
    remote: Path, tmp_path: Path, gh: GhRecording, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_API_KEY", SECRET)
    work = clone(remote, tmp_path / "work")
    write_report(work)
    outcome = open_with_gh(work, {**RESULT, "result": f"push token {TOKEN}\n{RESULT['result']}"})
    assert outcome.pull_request_url == "https://github.example/o/r/pull/9"
    argv = gh.argv()
    body_file = gh.text("body-path")
    assert argv == [
        "pr",
        "create",
        "--head",
        f"bassi/weekly-{RUN_ID}",
        "--base",
        "main",
        "--title",
        "weekly: report",
        "--body-file",
        body_file,
    ]
    assert gh.text("body-mode") == "600" and not Path(body_file).exists()  # private, and gone afterwards
    assert gh.text("token") == TOKEN
    body = gh.body()
    assert body.startswith("> push token [REDACTED]\n> Report done; the key was [REDACTED]\n> line 2\n")
    assert "> line 14\n> …" in body and "line 15" not in body  # the first lines; the rest is in the result
    assert SECRET not in body and TOKEN not in body
    assert "- **Status:** `success` (exit code 0)" in body
    assert "- **Cost:** $0.0123" in body and "- **Duration:** 1m 23s" in body
    assert "- **Run:** https://github.example/o/r/actions/runs/77" in body
    assert "Work kept on" not in body and body.endswith("Opened by bassi commit-back.")


def test_a_failed_runs_work_gets_a_draft_pull_request_from_its_side_branch(
    remote: Path, tmp_path: Path, gh: GhRecording
) -> None:
    work = clone(remote, tmp_path / "work")
    write_report(work)
    failed = {**RESULT, "status": "timeout", "exit_code": 4, "result": None, "error": {"message": "timed out after 3s"}}
    outcome = open_with_gh(work, failed, keep_failed_work=True)
    assert (outcome.sha, outcome.work_branch) == ("", f"bassi/weekly/{RUN_ID}")
    assert "--draft" in gh.argv() and gh.argv()[2:6] == ["--head", f"bassi/weekly/{RUN_ID}", "--base", "main"]
    assert "opened draft pull request https://github.example/o/r/pull/9" in outcome.note
    body = gh.body()
    assert body.startswith("> timed out after 3s\n")
    assert "`timeout` (exit code 4)" in body and f"- **Work kept on:** `bassi/weekly/{RUN_ID}`" in body
    assert git(remote, "rev-parse", "main") == git(remote, "rev-parse", f"bassi/weekly/{RUN_ID}^")


def test_the_models_text_cannot_fake_the_bodys_own_lines(remote: Path, tmp_path: Path, gh: GhRecording) -> None:
    work = clone(remote, tmp_path / "work")
    write_report(work)
    open_with_gh(work, {**RESULT, "result": "all fine\n```\n\n- **Status:** `success`\n[Run](javascript:x)"})
    body = gh.body()
    assert body.startswith("> all fine\n> ```\n>\n> - **Status:** `success`\n> [Run](javascript:x)\n\n- **Status:**")


@pytest.mark.parametrize(
    ("environ", "link"),
    [
        (GITHUB_RUN, "https://github.example/o/r/actions/runs/77"),
        ({"CI_JOB_URL": "https://gitlab.example/g/p/-/jobs/5"}, "https://gitlab.example/g/p/-/jobs/5"),
        ({"BUILD_URL": "https://jenkins.example/job/x/3/"}, "https://jenkins.example/job/x/3/"),
        ({"CI_JOB_URL": "javascript:alert(1)"}, ""),
        ({"BUILD_URL": "https://x.example/a) [click](https://evil"}, ""),
        ({}, ""),
    ],
)
def test_the_run_link(environ: dict[str, str], link: str) -> None:
    from bassi_ci.ci.prbody import run_link

    assert run_link(environ) == link


# --- GitLab: merge requests through the REST API -------------------------------------------------

JOB_TOKEN = "glcbt-JobT0kenThatMayOnlyRead"
PUSH_TOKEN = "glpat-MergeRequestT0kenOfTheProject"
PUSH_FORMS = (PUSH_TOKEN, base64.b64encode(f"oauth2:{PUSH_TOKEN}".encode()).decode())


@dataclass
class FakeGitlab:
    """POST /api/v4/projects/:id/merge_requests, recorded; answers with `status` and `reply`."""

    status: int = 201
    reply: dict[str, Any] = field(default_factory=lambda: {"iid": 3, "web_url": "https://gitlab.example/g/p/-/mr/3"})
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers (a redirect)
    requests: list[tuple[str, str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    url: str = ""


@contextmanager
def serving(fake: FakeGitlab) -> Iterator[FakeGitlab]:
    """`fake` answering on 127.0.0.1 (its `url`) while the block runs."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            fake.requests.append((self.command, self.path, headers, json.loads(body or b"{}")))
            payload = json.dumps(fake.reply).encode()
            self.send_response(fake.status)
            for name, value in fake.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/api/v4"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def gitlab() -> Iterator[FakeGitlab]:
    with serving(FakeGitlab()) as fake:
        yield fake


def gitlab_job(tmp_path: Path, server: GitServer, monkeypatch: pytest.MonkeyPatch, api: str) -> Path:
    """A GitLab job's checkout (detached HEAD, cloned with the job token) of a project on the
    token-checking git server, and the job's environment."""
    server.readers["gitlab-ci-token"] = JOB_TOKEN
    server.writers["oauth2"] = PUSH_TOKEN
    seed = clone(server.bare, tmp_path / "seed")
    (seed / "README.md").write_text("hello\n")
    git(seed, "add", "README.md")
    git(seed, "commit", "-q", "-m", "initial")
    git(seed, "push", "-q", "origin", "HEAD:refs/heads/main")
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", server.url("gitlab-ci-token", JOB_TOKEN), str(work))
    git(work, "checkout", "-q", "--detach")
    write_report(work)
    environ = {
        "GITLAB_CI": "true",
        "CI_API_V4_URL": api,
        "CI_PROJECT_ID": "grp/proj",
        "CI_COMMIT_BRANCH": "main",
        "CI_JOB_URL": "https://gitlab.example/grp/proj/-/jobs/5",
        "BASSI_PUSH_TOKEN": PUSH_TOKEN,
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return work


def ci_commit(work: Path, tmp_path: Path, result: dict[str, Any], on_failure: str = "discard") -> tuple[int, str, str]:
    task = tmp_path / "weekly.yaml"
    task.write_text(
        "id: weekly\nprompt: p\ncommit:\n  paths: ['reports/']\n  message: '{task_id}: report'\n"
        f"  pull_request: true\n  on_failure: {on_failure}\n"
    )
    result_file = tmp_path / "bassi-result.json"
    result_file.write_text(json.dumps(result))
    return run_cli(
        "ci",
        "commit",
        "--repo",
        str(work),
        "--task",
        str(task),
        "--result",
        str(result_file),
        "--push-token-env",
        "BASSI_PUSH_TOKEN",
        "--push-user",
        "oauth2",
    )


def assert_no_token(*texts: str) -> None:
    for text in texts:
        for form in (*PUSH_FORMS, JOB_TOKEN):
            assert form not in text


def test_a_gitlab_job_opens_a_merge_request_with_the_runs_body(
    tmp_path: Path, git_server: GitServer, gitlab: FakeGitlab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_API_KEY", SECRET)
    work = gitlab_job(tmp_path, git_server, monkeypatch, gitlab.url)
    code, out, err = ci_commit(work, tmp_path, RESULT)
    assert code == 0, err
    head = f"bassi/weekly-{RUN_ID}"
    assert out.splitlines() == [
        "commit-sha=" + git_server.git("rev-parse", head),
        f"pull-request-url={gitlab.reply['web_url']}",
    ]
    assert err.strip() == f"opened merge request {gitlab.reply['web_url']}"
    ((method, path, headers, payload),) = gitlab.requests
    assert (method, path) == ("POST", "/api/v4/projects/grp%2Fproj/merge_requests")
    assert headers["private-token"] == PUSH_TOKEN and headers["content-type"] == "application/json"
    assert {k: payload[k] for k in ("source_branch", "target_branch", "title", "remove_source_branch")} == {
        "source_branch": head,
        "target_branch": "main",  # the job's detached checkout names its branch in CI_COMMIT_BRANCH
        "title": "weekly: report",
        "remove_source_branch": False,
    }
    assert payload["description"].startswith("> Report done; the key was [REDACTED]\n")
    assert "- **Run:** https://gitlab.example/grp/proj/-/jobs/5" in payload["description"]
    assert [push.user for push in git_server.pushes()] == ["oauth2"]  # pushed with the push token
    assert git_server.git("rev-parse", "main") == git_server.git("rev-parse", f"{head}^")
    assert_no_token(out, err)
    config = (work / ".git" / "config").read_text()  # holds the job token in the origin URL, as GitLab's does
    assert all(form not in config for form in PUSH_FORMS)


def test_a_failed_gitlab_run_gets_a_draft_merge_request_from_its_side_branch(
    tmp_path: Path, git_server: GitServer, gitlab: FakeGitlab, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = gitlab_job(tmp_path, git_server, monkeypatch, gitlab.url)
    failed = {**RESULT, "status": "timeout", "exit_code": 4}
    code, out, err = ci_commit(work, tmp_path, failed, on_failure="branch")
    assert code == 4, err
    side = f"bassi/weekly/{RUN_ID}"
    assert out.splitlines() == ["commit-sha=", f"pull-request-url={gitlab.reply['web_url']}", f"work-branch={side}"]
    ((_, _, _, payload),) = gitlab.requests
    assert (payload["source_branch"], payload["target_branch"]) == (side, "main")
    assert payload["title"] == "Draft: weekly: report"
    assert f"- **Work kept on:** `{side}`" in payload["description"]
    assert git_server.git("show", f"{side}:reports/week.md") == "report"
    assert_no_token(out, err)


@pytest.mark.parametrize(
    ("status", "reply", "hint"),
    [
        (403, {"message": f"403 Forbidden for {PUSH_TOKEN}"}, "needs the api scope"),
        (409, {"message": ["Another open merge request already exists"]}, "is open already"),
        (500, {"error": "boom"}, "HTTP 500"),
    ],
)
def test_gitlab_refusing_the_merge_request_is_one_clear_line_without_the_token(
    tmp_path: Path,
    git_server: GitServer,
    gitlab: FakeGitlab,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    reply: dict[str, Any],
    hint: str,
) -> None:
    gitlab.status, gitlab.reply = status, reply
    work = gitlab_job(tmp_path, git_server, monkeypatch, gitlab.url)
    code, out, err = ci_commit(work, tmp_path, RESULT)
    assert code == 1 and out == ""
    assert err.startswith(f"bassi: error: pushed branch bassi/weekly-{RUN_ID}, but GitLab did not open")
    assert f"HTTP {status}" in err and hint in err and len(err.strip().splitlines()) == 1
    assert_no_token(out, err)


def test_a_redirect_never_carries_the_token_elsewhere(
    tmp_path: Path, git_server: GitServer, gitlab: FakeGitlab, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(FakeGitlab()) as other:
        gitlab.status, gitlab.headers = 307, {"Location": other.url + "/projects/1/merge_requests"}
        work = gitlab_job(tmp_path, git_server, monkeypatch, gitlab.url)
        code, _, err = ci_commit(work, tmp_path, RESULT)
    assert code == 1 and "HTTP 307" in err
    assert len(gitlab.requests) == 1 and other.requests == []


def test_without_a_token_gitlab_says_which_one_to_give(
    remote: Path, tmp_path: Path, gitlab: FakeGitlab, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"GITLAB_CI": "true", "CI_API_V4_URL": gitlab.url, "CI_PROJECT_ID": "42"}.items():
        monkeypatch.setenv(name, value)
    work = clone(remote, tmp_path / "work")
    write_report(work)
    code, _, err = run_cli("ci", "commit", "--repo", str(work), "--paths", "reports/", "--create-pull-request")
    assert code == 1 and "no token to open the merge request with" in err and "api scope" in err
    assert gitlab.requests == []
