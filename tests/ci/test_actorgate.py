"""The action's actor gate (issue #11, part 3) against a local fake GitHub REST API.

The first tests run `bassi ci action-run` as action.yml does, with the fake Messages API
counting what reaches it: a refused actor must cost not one request. The rest call the gate
itself for the cases that differ only in GitHub's answer.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bassi_ci.ci.actorgate import Allowed, check_actor
from bassi_ci.errors import Forbidden, UsageError
from bassi_ci.runs.result import result_schema
from tests.ci.fakegithub import FakeGitHub
from tests.ci.helpers import TOKEN, action_run
from tests.fakeapi import FakeMessagesAPI, from_script

KEY = "sk-test-key-0123456789"


def event_file(tmp_path: Path, login: str, kind: str = "User") -> Path:
    path = tmp_path / "event.json"
    payload = {"action": "created", "comment": {"body": "@bassi do it"}, "sender": {"login": login, "type": kind}}
    path.write_text(json.dumps(payload))
    return path


def github_env(
    tmp_path: Path, github: FakeGitHub, login: str, event: str = "issue_comment", kind: str = "User"
) -> dict[str, str]:
    """What the runner gives every step of a workflow on `event`, triggered by `login`."""
    summary = tmp_path / "step_summary.md"
    summary.touch()
    return {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_file(tmp_path, login, kind)),
        "GITHUB_ACTOR": login,
        "GITHUB_REPOSITORY": github.repository,
        "GITHUB_API_URL": github.url,
        "GITHUB_STEP_SUMMARY": str(summary),
        "BASSI_GITHUB_TOKEN": TOKEN,
    }


def run(tmp_path: Path, env: dict[str, str], **inputs: str) -> tuple[int, dict[str, str], str]:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return action_run(work, tmp_path, env, prompt="answer the comment", anthropic_api_key=KEY, **inputs)


def summary_of(env: dict[str, str]) -> str:
    return Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def assert_forbidden(code: int, outputs: dict[str, str], log: str, *hints: str) -> dict[str, Any]:
    assert code == 9, log
    assert outputs["status"] == "forbidden" and outputs["exit-code"] == "9"
    assert outputs["num-turns"] == "0" and outputs["result"] == ""
    result: dict[str, Any] = json.loads(Path(outputs["result-file"]).read_text())
    jsonschema.Draft202012Validator(result_schema()).validate(result)
    assert (result["status"], result["exit_code"], result["error"]["type"]) == ("forbidden", 9, "Forbidden")
    errors = [line for line in log.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, log
    for hint in hints:
        assert hint in result["error"]["message"] and hint in errors[0], (hint, result["error"]["message"])
    return result


# --------------------------------------------------------------------------- through the action


def test_a_reader_is_forbidden_and_the_api_is_never_called(
    tmp_path: Path, fake_github: FakeGitHub, fake_api: FakeMessagesAPI
) -> None:
    fake_github.roles = {"stranger": "read"}
    env = github_env(tmp_path, fake_github, "stranger")
    code, outputs, log = run(tmp_path, env)
    assert_forbidden(code, outputs, log, "stranger has read permission on octo/repo")
    assert fake_api.requests == []
    assert [r.path for r in fake_github.requests] == ["/repos/octo/repo/collaborators/stranger/permission"]
    assert fake_github.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert "**bassi: the agent did not run** (status `forbidden`, exit code 9): stranger has read" in summary_of(env)
    everything = log + json.dumps(outputs) + summary_of(env) + Path(outputs["result-file"]).read_text()
    assert TOKEN not in everything


def test_a_writer_runs_the_agent(tmp_path: Path, fake_github: FakeGitHub, fake_api: FakeMessagesAPI) -> None:
    fake_github.roles = {"member": "write"}
    fake_api.enqueue(from_script({"type": "text", "text": "done"}))
    env = github_env(tmp_path, fake_github, "member")
    code, outputs, log = run(tmp_path, env)
    assert code == 0, log
    assert outputs["status"] == "success" and outputs["result"] == "done"
    assert len(fake_api.requests) == 1 and len(fake_github.requests) == 1
    assert "Actor gate (issue_comment): member has write permission" in summary_of(env)
    assert TOKEN not in log + summary_of(env)


def test_allowed_users_run_without_asking_github(
    tmp_path: Path, fake_github: FakeGitHub, fake_api: FakeMessagesAPI
) -> None:
    fake_github.roles = {"Guest": "read"}
    fake_api.enqueue(from_script({"type": "text", "text": "hello guest"}))
    env = github_env(tmp_path, fake_github, "Guest")
    code, outputs, log = run(tmp_path, env, allowed_users="someone, guest\nother")
    assert code == 0, log
    assert outputs["result"] == "hello guest"
    assert fake_github.requests == []
    assert "Guest is in allowed-users" in summary_of(env)


def test_a_bot_runs_only_when_named_in_allowed_bots(
    tmp_path: Path, fake_github: FakeGitHub, fake_api: FakeMessagesAPI
) -> None:
    env = github_env(tmp_path, fake_github, "renovate[bot]", kind="Bot")
    # Named among the users is not enough: bots have a list of their own.
    code, outputs, log = run(tmp_path, env, allowed_users="renovate", allowed_bots="dependabot[bot]")
    assert_forbidden(code, outputs, log, "renovate[bot] is a bot and not in allowed-bots")
    assert fake_api.requests == [] and fake_github.requests == []

    fake_api.enqueue(from_script({"type": "text", "text": "bot welcome"}))
    code, outputs, log = run(tmp_path, env, allowed_bots="dependabot, renovate[bot]")
    assert code == 0, log
    assert outputs["result"] == "bot welcome" and fake_github.requests == []


def test_github_failing_closes_the_gate_with_the_reason(
    tmp_path: Path, fake_github: FakeGitHub, fake_api: FakeMessagesAPI
) -> None:
    fake_github.failures = {"member": 500}
    env = github_env(tmp_path, fake_github, "member")
    code, outputs, log = run(tmp_path, env)
    assert_forbidden(code, outputs, log, "GitHub answered 500", "/repos/octo/repo/collaborators/member/permission")
    assert fake_api.requests == []


def test_a_scheduled_run_is_not_gated(tmp_path: Path, fake_github: FakeGitHub, fake_api: FakeMessagesAPI) -> None:
    fake_api.enqueue(from_script({"type": "text", "text": "scheduled"}))
    env = github_env(tmp_path, fake_github, "stranger", event="schedule")
    code, outputs, log = run(tmp_path, env)
    assert code == 0, log
    assert outputs["status"] == "success" and fake_github.requests == []
    assert "Actor gate" not in summary_of(env)


def test_a_malformed_allowed_login_is_a_usage_error(tmp_path: Path, fake_github: FakeGitHub) -> None:
    env = github_env(tmp_path, fake_github, "member")
    code, outputs, log = run(tmp_path, env, allowed_users="alice, @bob")
    assert code == 2, log
    assert outputs["status"] == "usage_error"
    assert "allowed-users: '@bob' is not a GitHub login" in log
    assert "Traceback" not in log and fake_github.requests == []


# --------------------------------------------------------------------------- the gate itself


def gate_env(tmp_path: Path, github: FakeGitHub, login: str, **overrides: str) -> dict[str, str]:
    env = github_env(tmp_path, github, login)
    env.update(overrides)
    return env


NOBODY = Allowed()


def refusal(env: dict[str, str], allowed: Allowed = NOBODY, token: str = TOKEN) -> str:
    with pytest.raises(Forbidden) as caught:
        check_actor(env, allowed, token)
    message = str(caught.value)
    assert token not in message or not token
    return message


@pytest.mark.parametrize("role", ["write", "maintain", "admin"])
def test_write_maintain_and_admin_pass(tmp_path: Path, fake_github: FakeGitHub, role: str) -> None:
    fake_github.roles = {"member": role}
    note = check_actor(gate_env(tmp_path, fake_github, "member"), Allowed(), TOKEN)
    assert note == f"Actor gate (issue_comment): member has {role} permission"


@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch", "push", "pull_request", "workflow_run", ""])
def test_events_nobody_outside_can_start_are_not_gated(tmp_path: Path, fake_github: FakeGitHub, event: str) -> None:
    env = gate_env(tmp_path, fake_github, "stranger", GITHUB_EVENT_NAME=event, GITHUB_EVENT_PATH="")
    assert check_actor(env, Allowed(), TOKEN) is None
    assert fake_github.requests == []


@pytest.mark.parametrize(
    "event", ["issue_comment", "issues", "pull_request_target", "pull_request_review_comment", "discussion_comment"]
)
def test_every_event_a_stranger_can_start_is_gated(tmp_path: Path, fake_github: FakeGitHub, event: str) -> None:
    fake_github.roles = {"stranger": "read"}
    env = gate_env(tmp_path, fake_github, "stranger", GITHUB_EVENT_NAME=event)
    assert "stranger has read permission" in refusal(env)


@pytest.mark.parametrize(
    ("status", "hint"),
    [(404, "GitHub answered 404"), (403, "may not read collaborators"), (502, "GitHub answered 502")],
)
def test_every_github_error_closes_the_gate(tmp_path: Path, fake_github: FakeGitHub, status: int, hint: str) -> None:
    fake_github.failures = {"member": status}
    assert hint in refusal(gate_env(tmp_path, fake_github, "member"))


def test_an_unknown_login_is_github_404(tmp_path: Path, fake_github: FakeGitHub) -> None:
    assert "GitHub answered 404" in refusal(gate_env(tmp_path, fake_github, "nobody"))


def test_github_unreachable_closes_the_gate(tmp_path: Path, fake_github: FakeGitHub) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    message = refusal(gate_env(tmp_path, fake_github, "member", GITHUB_API_URL=dead))
    assert f"could not reach GitHub at {dead}" in message and "refused" in message.lower()


def test_the_payload_sender_is_authoritative(tmp_path: Path, fake_github: FakeGitHub) -> None:
    # A maintainer re-runs the workflow of a stranger's comment: the stranger's text is what the agent reads.
    fake_github.roles = {"stranger": "read", "maintainer": "admin"}
    env = gate_env(tmp_path, fake_github, "stranger", GITHUB_ACTOR="maintainer", GITHUB_TRIGGERING_ACTOR="maintainer")
    assert "stranger has read permission" in refusal(env)
    # And the other way round: every login behind the run must pass.
    env = gate_env(tmp_path, fake_github, "maintainer", GITHUB_TRIGGERING_ACTOR="stranger")
    assert "stranger has read permission" in refusal(env)
    env = gate_env(tmp_path, fake_github, "maintainer", GITHUB_ACTOR="Maintainer")
    assert check_actor(env, Allowed(), TOKEN) == "Actor gate (issue_comment): maintainer has admin permission"


def test_triage_and_custom_roles_count_by_their_base_permission(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.roles = {"triager": "triage", "custom": "release-manager", "pusher": "release-pusher"}
    fake_github.base_levels = {"custom": "read", "pusher": "write"}
    assert "triager has triage permission" in refusal(gate_env(tmp_path, fake_github, "triager"))
    # A custom role reports its base level as the legacy `permission`.
    assert "custom has release-manager permission" in refusal(gate_env(tmp_path, fake_github, "custom"))
    note = check_actor(gate_env(tmp_path, fake_github, "pusher"), Allowed(), TOKEN)
    assert note == "Actor gate (issue_comment): pusher has write permission"


@pytest.mark.parametrize(
    ("payload", "hint"),
    [
        (None, "GITHUB_EVENT_PATH is not set"),
        ("not json", "cannot read the issue_comment event payload"),
        ({"comment": {}}, "names no sender"),
        ({"sender": {"login": ""}}, "names no sender"),
    ],
)
def test_a_payload_without_a_sender_closes_the_gate(
    tmp_path: Path, fake_github: FakeGitHub, payload: object, hint: str
) -> None:
    env = gate_env(tmp_path, fake_github, "member")
    fake_github.roles = {"member": "admin"}
    if payload is None:
        env["GITHUB_EVENT_PATH"] = ""
    else:
        Path(env["GITHUB_EVENT_PATH"]).write_text(payload if isinstance(payload, str) else json.dumps(payload))
    assert hint in refusal(env)
    assert fake_github.requests == []


def test_no_token_or_no_repository_closes_the_gate(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.roles = {"member": "admin"}
    env = gate_env(tmp_path, fake_github, "member")
    assert "no workflow token" in refusal(env, token="")
    env["GITHUB_REPOSITORY"] = "../../evil"
    assert "is not owner/name" in refusal(env)
    assert fake_github.requests == []


def test_a_redirect_is_not_followed_with_the_token(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.failures = {"member": 301}
    assert "GitHub answered 301" in refusal(gate_env(tmp_path, fake_github, "member"))
    assert len(fake_github.requests) == 1


def test_allowed_lists_are_read_leniently_but_checked() -> None:
    allowed = Allowed.parse(" Alice,bob\n\ncarol-d ", "Dependabot[bot], renovate")
    assert allowed.users == {"alice", "bob", "carol-d"}
    assert allowed.bots == {"dependabot", "renovate"}
    for bad in ("-alice", "a_b", "x" * 40, "alice;rm"):
        with pytest.raises(UsageError, match="allowed-bots"):
            Allowed.parse("", bad)
