"""Commit-back against real git repositories with a bare remote."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bassi_ci.ci import commit as commit_module
from bassi_ci.ci.commit import CommitRefused, CommitRequest, PushFailed, commit_back
from tests.ci.helpers import (
    HEADER,
    TOKEN,
    assert_no_credential_in_config,
    clone,
    git,
    git_recorder,
    recorded_calls,
    remote_files,
    remote_log,
)
from tests.cli import run_cli


def request(repo: Path, *paths: str, **kw: object) -> CommitRequest:
    return CommitRequest(repo=repo, paths=paths, message=str(kw.pop("message", "bassi: results")), **kw)  # type: ignore[arg-type]


def test_commits_only_matching_files_as_the_bot(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "reports").mkdir()
    (work / "reports" / "week.md").write_text("# week\n")
    (work / "reports" / "deep").mkdir()
    (work / "reports" / "deep" / "x.md").write_text("deep\n")
    (work / "notes.txt").write_text("outside\n")
    (work / "README.md").write_text("changed outside the paths\n")
    git(work, "add", "notes.txt")  # even a file the agent staged itself stays out
    outcome = commit_back(request(work, "reports/*.md"))
    assert outcome.files == ("reports/week.md",)
    assert len(outcome.sha) == 40
    assert remote_log(remote)[0] == "bassi: results|bassi[bot]|bassi-bot@users.noreply.github.com"
    assert sorted(remote_files(remote)) == ["README.md", "reports/week.md"]
    assert git(remote, "show", "main:README.md") == "hello"
    status = git(work, "status", "--porcelain")
    assert "notes.txt" in status and "README.md" in status  # left alone for the user


def test_recursive_globs_and_deletions(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "out" / "a" / "b").mkdir(parents=True)
    (work / "out" / "a" / "b" / "r.json").write_text("{}\n")
    (work / "README.md").unlink()
    outcome = commit_back(request(work, "out/**", "README.md"))
    assert outcome.files == ("README.md", "out/a/b/r.json")
    assert remote_files(remote) == ["out/a/b/r.json"]


def test_nothing_to_commit_names_the_paths_and_where_files_changed(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    (work / ".bassi" / "tasks" / "reports").mkdir(parents=True)
    (work / ".bassi" / "tasks" / "reports" / "week.md").write_text("x\n")
    (work / "README.md").write_text("changed\n")
    outcome = commit_back(request(work, "reports/*", "summary.md"))
    assert outcome.sha == ""
    assert outcome.note == (
        "nothing to commit: nothing changed under reports/*, summary.md (the commit paths); "
        "the working tree changed .bassi/tasks/reports/week.md, README.md"
    )
    assert len(remote_log(remote)) == 1


def test_nothing_changed_anywhere_says_so(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    outcome = commit_back(request(work, "reports/"))
    assert outcome.note == (
        "nothing to commit: nothing changed under reports/ (the commit paths); the working tree changed no files"
    )


def test_bassi_ci_commit_says_what_changed_instead(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "notes").mkdir()
    (work / "notes" / "week.md").write_text("x\n")
    code, out, err = run_cli("ci", "commit", "--repo", str(work), "--paths", "reports/")
    assert code == 0 and out == "commit-sha=\n"
    assert err == (
        "nothing to commit: nothing changed under reports/ (the commit paths); the working tree changed notes/week.md\n"
    )


def test_lost_push_race_is_rebased_and_retried_never_forced(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    other = clone(remote, tmp_path / "other")
    (other / "theirs.txt").write_text("theirs\n")
    git(other, "add", "theirs.txt")
    git(other, "commit", "-q", "-m", "their commit")
    git(other, "push", "-q", "origin", "main")  # wins the race: `work` is now behind
    (work / "reports").mkdir()
    (work / "reports" / "r.md").write_text("mine\n")
    outcome = commit_back(request(work, "reports/"))
    log = remote_log(remote)
    assert [entry.split("|")[0] for entry in log] == ["bassi: results", "their commit", "initial"]
    assert git(remote, "rev-parse", "main") == outcome.sha
    assert sorted(remote_files(remote)) == ["README.md", "reports/r.md", "theirs.txt"]


def test_gives_up_after_three_rejected_pushes(remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = clone(remote, tmp_path / "work")
    other = clone(remote, tmp_path / "other")
    pushes: list[int] = []
    real_rebase = commit_module._rebase_onto_remote

    def rebase_then_lose_again(repo: object, remote_name: str, target: str, env: object) -> bool:
        ok = real_rebase(repo, remote_name, target, env)  # type: ignore[arg-type]
        # Another runner pushes again between our rebase and our push, every time.
        (other / f"race{len(pushes)}.txt").write_text("x\n")
        git(other, "pull", "-q", "--rebase", "origin", "main")
        git(other, "add", ".")
        git(other, "commit", "-q", "-m", f"race {len(pushes)}")
        git(other, "push", "-q", "origin", "main")
        pushes.append(1)
        return ok

    (other / "first.txt").write_text("x\n")
    git(other, "add", ".")
    git(other, "commit", "-q", "-m", "first")
    git(other, "push", "-q", "origin", "main")
    monkeypatch.setattr(commit_module, "_rebase_onto_remote", rebase_then_lose_again)
    (work / "r.md").write_text("mine\n")
    with pytest.raises(PushFailed, match="failed 3 times"):
        commit_back(request(work, "r.md"))
    assert "bassi: results" not in [e.split("|")[0] for e in remote_log(remote)]
    assert remote_log(remote)[0].startswith("race 1|")  # their history is intact


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("out/config.py", 'api_key = "Zx8vQ2mL9pR4tY7wK3nB6cF1"\n'),
        ("out/key.txt", "ANTHROPIC=sk-ant-api03-" + "a1B2c3D4" * 6 + "\n"),
        ("out/aws.ini", "aws_access_key_id=AKIAIOSFODNN7EXAMPLE\n"),
        ("out/id", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"),
        ("out/.env", "HARMLESS=1\n"),
        ("out/env-value.txt", "the key is my-very-own-test-key-123\n"),
    ],
)
def test_refuses_files_that_look_like_secrets(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: str
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "my-very-own-test-key-123")
    work = clone(remote, tmp_path / "work")
    (work / "out").mkdir()
    (work / "out" / "fine.md").write_text("fine\n")
    (work / name).write_text(content)
    with pytest.raises(CommitRefused, match=name.replace(".", r"\.")):
        commit_back(request(work, "out/**"))
    assert len(remote_log(remote)) == 1
    assert git(work, "log", "--format=%s") == "initial"


def test_harmless_assignments_are_fine(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "doc.md").write_text('token = "see-the-docs-please"\npassword: "aaaaaaaaaaaaaaaaaaaa"\n')
    assert commit_back(request(work, "doc.md")).sha


def test_pull_request_branch_without_gh(remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # gh may well be installed (GitHub's runners have it): commit-back is made not to find it.
    real_which = shutil.which

    def which_without_gh(name: str, *args: Any, **kwargs: Any) -> str | None:
        return None if name == "gh" else real_which(name, *args, **kwargs)

    monkeypatch.setattr(shutil, "which", which_without_gh)  # what commit-back asks
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("x\n")
    outcome = commit_back(request(work, "r.md", pull_request=True, pr_branch_suffix="weekly-42"))
    assert outcome.branch == "bassi/weekly-42"
    assert "gh pr create --head bassi/weekly-42 --base main" in outcome.note
    assert git(remote, "log", "--format=%s", "bassi/weekly-42").splitlines()[0] == "bassi: results"
    assert len(remote_log(remote)) == 1  # main itself is untouched


def test_ci_commit_command(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("x\n")
    code, out, err = run_cli(
        "ci",
        "commit",
        "--repo",
        str(work),
        "--paths",
        "r.md,other/*",
        "--message",
        "{task_id}: {team} on {date}",
        "--task-id",
        "weekly",
        "--var",
        "team=core",
    )
    assert code == 0, err
    sha = out.strip().split("commit-sha=")[1]
    assert git(remote, "rev-parse", "main") == sha
    subject = git(remote, "log", "-1", "--format=%s", "main")
    assert subject.startswith("weekly: core on 20")
    code, out, _ = run_cli("ci", "commit", "--repo", str(work), "--paths", "r.md")
    assert code == 0 and out.strip() == "commit-sha="


def test_ci_commit_refusal_exits_1(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    (work / ".env").write_text("A=1\n")
    code, _, err = run_cli("ci", "commit", "--repo", str(work), "--paths", "*")
    assert code == 1 and ".env" in err


def test_a_commit_git_refuses_is_a_clear_failure_not_a_crash(remote: Path, tmp_path: Path, isolated_home: Path) -> None:
    # The repository's own config asks for signed commits and signing fails (no key on the runner).
    work = clone(remote, tmp_path / "work")
    git(work, "config", "commit.gpgSign", "true")
    git(work, "config", "gpg.program", "false")
    (work / "r.md").write_text("x\n")
    code, _, err = run_cli("ci", "commit", "--repo", str(work), "--paths", "r.md")
    assert code == 1, err
    assert err.startswith("bassi: error: git could not commit r.md:") and "gpg failed to sign" in err
    assert "unexpected error" not in err and not (isolated_home / "logs" / "crash.log").exists()
    assert len(remote_log(remote)) == 1


def test_unknown_template_variable_is_a_usage_error(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("x\n")
    code, _, err = run_cli("ci", "commit", "--repo", str(work), "--paths", "r.md", "--message", "{nope}")
    assert code == 2 and "nope" in err
    assert len(remote_log(remote)) == 1


@pytest.mark.parametrize("name", ["MY_API_KEY", "CI_JOB_TOKEN", "GITHUB_TOKEN", "DB_PASSWORD", "ANTHROPIC_API_KEY"])
def test_refuses_the_value_of_any_secret_environment_variable(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    value = "plain-words-no-shape-42"  # matches no pattern: only knowing the variable can catch it
    monkeypatch.setenv(name, value)
    work = clone(remote, tmp_path / "work")
    (work / "reports").mkdir()
    (work / "reports" / "fine.md").write_text("fine\n")
    (work / "reports" / "leak.md").write_text(f"the agent wrote {value} here\n")
    code, out, err = run_cli("ci", "commit", "--repo", str(work), "--paths", "reports/")
    assert code == 1
    assert "reports/leak.md" in err and name in err
    assert value not in out + err
    assert len(remote_log(remote)) == 1
    assert git(work, "log", "--format=%s") == "initial"


def test_ordinary_environment_values_do_not_block(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_NAME", "core-platform-team")  # not a secret-looking name
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("report of core-platform-team\n")
    assert commit_back(request(work, "r.md")).sha


def test_commit_paths_expand_template_variables(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "reports").mkdir()
    (work / "reports" / "weekly-core.md").write_text("mine\n")
    (work / "reports" / "weekly-other.md").write_text("not this one\n")
    code, _, err = run_cli(
        "ci",
        "commit",
        "--repo",
        str(work),
        "--paths",
        "reports/{task_id}-{team}.md",
        "--task-id",
        "weekly",
        "--var",
        "team=core",
        "--message",
        "{task_id} {team}",
    )
    assert code == 0, err
    assert sorted(remote_files(remote)) == ["README.md", "reports/weekly-core.md"]
    assert remote_log(remote)[0].startswith("weekly core|")


@pytest.mark.parametrize(("path", "hint"), [("{nope}.md", "nope"), ("../{x}", "outside")])
def test_bad_commit_path_templates_are_usage_errors(remote: Path, tmp_path: Path, path: str, hint: str) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("x\n")
    code, _, err = run_cli("ci", "commit", "--repo", str(work), "--paths", path, "--var", "x=y")
    assert code == 2 and hint in err
    assert len(remote_log(remote)) == 1


def test_commit_back_uses_a_task_file_and_a_successful_result(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    task = tmp_path / "weekly.yaml"
    task.write_text(
        "id: weekly\nprompt: p\nvars:\n  team: core\n"
        "commit:\n  paths: ['reports/{team}-*.md']\n  message: '{task_id} {team} {run_id}'\n"
    )
    (work / "reports").mkdir()
    (work / "reports" / "core-1.md").write_text("x\n")
    (work / "reports" / "other-1.md").write_text("x\n")
    result = tmp_path / "bassi-result.json"
    result.write_text('{"status": "failed", "run_id": "r-1"}')
    code, _, err = run_cli("ci", "commit", "--repo", str(work), "--task", str(task), "--result", str(result))
    assert code == 1 and "status failed" in err
    assert len(remote_log(remote)) == 1
    result.write_text('{"status": "success", "run_id": "r-2"}')
    code, _, err = run_cli("ci", "commit", "--repo", str(work), "--task", str(task), "--result", str(result))
    assert code == 0, err
    assert remote_log(remote)[0].startswith("weekly core r-2|bassi[bot]")
    assert sorted(remote_files(remote)) == ["README.md", "reports/core-1.md"]


def test_pull_request_hint_is_shell_quoted(remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex

    real_which = shutil.which
    monkeypatch.setattr(commit_module.shutil, "which", lambda name: None if name == "gh" else real_which(name))
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("x\n")
    title = "it's done; $(touch pwned) `x`"
    outcome = commit_back(request(work, "r.md", message=title, pull_request=True, pr_branch_suffix="w-1"))
    hint = outcome.note.split("yourself: ", 1)[1]
    assert shlex.split(hint) == ["gh", "pr", "create", "--head", "bassi/w-1", "--base", "main", "--title", title]


def fake_gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `gh` on PATH that records the GH_TOKEN it was given and prints a pull request URL."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "gh-token"
    (bin_dir / "gh").write_text(f'#!/bin/sh\nprintf "%s" "$GH_TOKEN" > {seen}\necho https://example.test/pull/7\n')
    (bin_dir / "gh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return seen


def test_gh_gets_the_token_for_its_own_process_only(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GH_TOKEN", raising=False)
    seen = fake_gh(tmp_path, monkeypatch)
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("x\n")
    outcome = commit_back(request(work, "r.md", pull_request=True, push_token="workflow-token-123"))
    assert outcome.pull_request_url == "https://example.test/pull/7"
    assert seen.read_text() == "workflow-token-123"
    assert "GH_TOKEN" not in os.environ
    assert "workflow-token-123" not in repr(request(work, "r.md", push_token="workflow-token-123"))


# --- The workflow token reaches `git push`/`git fetch` through their environment only -------------


def test_push_and_fetch_get_the_token_as_an_environment_only_header(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = clone(remote, tmp_path / "work")
    other = clone(remote, tmp_path / "other")
    (other / "theirs.txt").write_text("theirs\n")
    git(other, "add", "theirs.txt")
    git(other, "commit", "-q", "-m", "their commit")
    git(other, "push", "-q", "origin", "main")  # our first push is rejected: fetch, rebase, push again
    bin_dir, log = git_recorder(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    for name in ("GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0"):
        monkeypatch.delenv(name, raising=False)
    (work / "reports").mkdir()
    (work / "reports" / "r.md").write_text("mine\n")
    outcome = commit_back(request(work, "reports/", push_token=TOKEN))
    assert git(remote, "rev-parse", "main") == outcome.sha  # a real push to the bare remote
    calls = recorded_calls(log)
    networked = [(sub, lines) for sub, lines in calls if sub in ("push", "fetch")]
    assert [sub for sub, _ in networked] == ["push", "fetch", "push"]
    for _, lines in networked:
        assert lines == [
            "GIT_CONFIG_COUNT=1",
            "GIT_CONFIG_KEY_0=http.https://github.com/.extraheader",
            f"GIT_CONFIG_VALUE_0={HEADER}",
            f"git reads: {HEADER}",
        ]
    others = [sub for sub, lines in calls if sub not in ("push", "fetch")]
    assert {"add", "commit", "rebase"} <= set(others)
    for sub, lines in calls:
        if sub not in ("push", "fetch"):
            assert lines == ["git reads: "], sub  # every other git process runs without the credential
    assert_no_credential_in_config(work)
    assert "GIT_CONFIG_COUNT" not in os.environ
    assert TOKEN not in outcome.note


def test_without_a_token_git_pushes_as_before(remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir, log = git_recorder(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("x\n")
    outcome = commit_back(request(work, "r.md"))
    assert git(remote, "rev-parse", "main") == outcome.sha
    pushes = [lines for sub, lines in recorded_calls(log) if sub == "push"]
    assert pushes == [["git reads: "]]


def test_the_header_goes_to_the_server_url_and_follows_existing_git_config_env(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitLab's job passes its pushurl the same way; entries already there are kept and ours follow."""
    bin_dir, log = git_recorder(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "remote.origin.pushurl")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", str(remote))
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("x\n")
    outcome = commit_back(request(work, "r.md", push_token=TOKEN, server_url="https://ghe.example.com/"))
    assert git(remote, "rev-parse", "main") == outcome.sha
    (push,) = [lines for sub, lines in recorded_calls(log) if sub == "push"]
    assert push[:-1] == [
        "GIT_CONFIG_COUNT=2",
        "GIT_CONFIG_KEY_0=remote.origin.pushurl",
        "GIT_CONFIG_KEY_1=http.https://ghe.example.com/.extraheader",
        f"GIT_CONFIG_VALUE_0={remote}",
        f"GIT_CONFIG_VALUE_1={HEADER}",
    ]
    assert_no_credential_in_config(work)


def test_a_credential_checkout_persisted_wins_over_the_workflow_token(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """persist-credentials left on (maybe with a PAT): push with that, add no second header."""
    bin_dir, log = git_recorder(tmp_path)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    work = clone(remote, tmp_path / "work")
    git(work, "config", "--local", "http.https://github.com/.extraheader", "AUTHORIZATION: basic cGVyc2lzdGVk")
    (work / "r.md").write_text("x\n")
    outcome = commit_back(request(work, "r.md", push_token=TOKEN))
    assert git(remote, "rev-parse", "main") == outcome.sha
    (push,) = [lines for sub, lines in recorded_calls(log) if sub == "push"]
    assert not any(line.startswith("GIT_CONFIG_COUNT=") and line != "GIT_CONFIG_COUNT=" for line in push[:-1])
    assert TOKEN not in (work / ".git" / "config").read_text()


def test_hooks_and_fsmonitor_the_agent_planted_never_run(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    witness = tmp_path / "ran"
    for hook in ("pre-commit", "post-commit", "pre-push", "commit-msg"):
        script = work / ".git" / "hooks" / hook
        script.write_text(f"#!/bin/sh\necho {hook} >> {witness}\n")
        script.chmod(0o755)
    monitor = tmp_path / "monitor.sh"
    monitor.write_text(f"#!/bin/sh\necho fsmonitor >> {witness}\nexit 1\n")
    monitor.chmod(0o755)
    git(work, "config", "core.fsmonitor", str(monitor))
    (work / "r.md").write_text("x\n")
    outcome = commit_back(request(work, "r.md", push_token=TOKEN))
    assert git(remote, "rev-parse", "main") == outcome.sha
    assert not witness.exists(), witness.read_text()


def test_multi_line_secrets_neither_crash_nor_refuse_a_shared_header_line(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    monkeypatch.setenv("SSH_PRIVATE_KEY", key)
    work = clone(remote, tmp_path / "work")
    (work / "ok.md").write_text("-----BEGIN CERTIFICATE----- is just a header line here\n")
    assert commit_back(request(work, "ok.md")).sha  # no crash, no false refusal


@pytest.mark.parametrize("padded", ["  {v}\n", "\n{v}\n\n", "\t{v} ", "{v}\r\n"])
def test_a_padded_secret_is_found_without_its_padding(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, padded: str
) -> None:
    value = "abcdefghij-token-value"
    monkeypatch.setenv("MY_TOKEN", padded.format(v=value))  # pasted into the secret with whitespace around it
    work = clone(remote, tmp_path / "work")
    (work / "leak.md").write_bytes(f"id={value}".encode())  # the bare value: no whitespace, no newline
    before = git(remote, "rev-parse", "main")
    with pytest.raises(CommitRefused) as refused:
        commit_back(request(work, "leak.md"))
    assert "MY_TOKEN" in str(refused.value) and value not in str(refused.value)
    assert git(remote, "rev-parse", "main") == before


@pytest.mark.parametrize("leak", [TOKEN, HEADER.removeprefix("AUTHORIZATION: basic ")])
def test_push_errors_never_show_the_token(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leak: str
) -> None:
    monkeypatch.delenv("GIT_CONFIG_COUNT", raising=False)
    work = clone(remote, tmp_path / "work")
    git(work, "remote", "set-url", "origin", str(tmp_path / f"gone-{leak}"))  # git names this path in its error
    (work / "r.md").write_text("x\n")
    with pytest.raises(PushFailed) as failure:
        commit_back(request(work, "r.md", push_token=TOKEN, attempts=1))
    assert leak not in str(failure.value) and "[REDACTED]" in str(failure.value)


# --- Fail closed: `bassi ci git-state` before the run, `bassi ci commit --git-state` after it -------


def test_ci_commit_refuses_when_the_git_configuration_changed_since_git_state(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    code, state, _ = run_cli("ci", "git-state", "--repo", str(work))
    assert code == 0 and state.strip().startswith("gs1-")
    (work / "r.md").write_text("report\n")
    (work / ".gitattributes").write_text("*.md filter=spy\n")
    git(work, "config", "filter.spy.clean", f"sh -c 'touch {tmp_path}/ran; cat'")
    before = git(remote, "rev-parse", "main")
    code, _, err = run_cli("ci", "commit", "--repo", str(work), "--paths", "r.md", "--git-state", state.strip())
    assert code == 1 and "refusing to commit back" in err and "nothing was committed or pushed" in err
    assert git(remote, "rev-parse", "main") == before and not (tmp_path / "ran").exists()


def test_ci_commit_with_an_unchanged_git_state_commits(remote: Path, tmp_path: Path) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "sub").mkdir()
    state = run_cli("ci", "git-state", "--repo", str(work / "sub"))[1].strip()  # any folder of the repository
    (work / "r.md").write_text("report\n")
    code, out, err = run_cli("ci", "commit", "--repo", str(work), "--paths", "r.md", "--git-state", state)
    assert code == 0, err
    assert f"commit-sha={git(remote, 'rev-parse', 'main')}" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--git-state", "not-a-state"], "not a value printed by 'bassi ci git-state'"),
        (["--push-token-env", "NO_SUCH_TOKEN_VAR"], "--push-token-env NO_SUCH_TOKEN_VAR: the variable is not set"),
        (["--push-user-env", "X"], "--push-user-env goes with --push-token-env"),
    ],
)
def test_ci_commit_bad_credential_and_state_options(
    remote: Path, tmp_path: Path, args: list[str], expected: str
) -> None:
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("report\n")
    code, _, err = run_cli("ci", "commit", "--repo", str(work), "--paths", "r.md", *args)
    assert code == 2 and expected in err and "Traceback" not in err


def test_the_push_token_leaves_the_environment_before_any_git_command(
    remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file remote takes no token: a clear usage error before anything is staged or committed; and
    the token left bassi's environment first, so no process bassi starts could see it."""
    work = clone(remote, tmp_path / "work")
    (work / "r.md").write_text("report\n")
    (work / ".gitattributes").write_text("*.md filter=spy\n")
    git(work, "config", "filter.spy.clean", f"sh -c 'env > {tmp_path}/filter-env.txt; cat'")
    monkeypatch.setenv("MY_PUSH_TOKEN", TOKEN)
    code, _, err = run_cli("ci", "commit", "--repo", str(work), "--paths", "r.md", "--push-token-env", "MY_PUSH_TOKEN")
    assert code == 2 and "needs an http(s) remote" in err and TOKEN not in err
    assert "MY_PUSH_TOKEN" not in os.environ
    assert not (tmp_path / "filter-env.txt").exists()  # nothing was staged
    assert git(work, "status", "--porcelain") == "?? .gitattributes\n?? r.md".strip()


def test_without_git_commit_back_is_one_clear_line(tmp_path: Path) -> None:
    """The default image of a CI job may have no git: exit 2 and one line, never GitPython's page."""
    no_git = tmp_path / "bin"
    no_git.mkdir()
    env = {**os.environ, "PATH": str(no_git), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("GIT_PYTHON_REFRESH", None)
    proc = subprocess.run(
        [sys.executable, "-m", "bassi_ci", "ci", "commit", "--paths", "x"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        "bassi: error: commit-back needs the git program, which is not on PATH: install git "
        "(Debian/Ubuntu: apt-get install git)"
    ]
