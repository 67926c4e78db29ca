"""bassi_ci.runs.notify against a real local HTTP receiver: payloads, retries, timeouts, and
that a failed notification is a warning naming the host, never the URL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bassi_ci.errors import ExitCode, UsageError
from bassi_ci.runs import notify
from bassi_ci.runs.redact import Redactor
from bassi_ci.runs.result import ErrorInfo, RunReport, build_result
from bassi_ci.tasks.model import NOTIFY_SHORTHANDS, RUN_STATUSES, NotifyTarget
from bassi_ci.tasks.schema import task_schema
from tests.runs.receiver import Receiver, dead_url


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "BACKOFF_S", (0.0, 0.0))


def report(code: ExitCode = ExitCode.SUCCESS, text: str = "All done.", **fields: object) -> RunReport:
    error = None if code is ExitCode.SUCCESS else ErrorInfo("RunFailed", "the model gave up")
    values: dict[str, object] = {
        "run_id": "20270101T000000Z-abcdef",
        "task_id": "weekly",
        "exit_code": code,
        "started_at": "2027-01-01T00:00:00Z",
        "finished_at": "2027-01-01T00:01:00Z",
        "duration_ms": 61_500,
        "total_cost_usd": 0.25,
        "final_text": text,
        "error": error,
        **fields,
    }
    return RunReport(**values)  # type: ignore[arg-type]


def send(target: NotifyTarget, run: RunReport, environ: dict[str, str] | None = None) -> tuple[RunReport, list[str]]:
    warnings: list[str] = []
    done = notify.notify_run([target], run, Redactor([]), environ or {}, warn=warnings.append)
    return done, warnings


# --------------------------------------------------------------------------- when


@pytest.mark.parametrize(
    ("when", "notified"),
    [
        (("failure",), set(RUN_STATUSES) - {"success"}),
        (("always",), set(RUN_STATUSES)),
        (("success",), {"success"}),
        (("timeout", "limit_reached"), {"timeout", "limit_reached"}),
        (("success", "failure"), set(RUN_STATUSES)),
    ],
)
def test_when_selects_the_statuses(when: tuple[str, ...], notified: set[str]) -> None:
    target = NotifyTarget(when=when, url="http://127.0.0.1/x")
    assert {status for status in RUN_STATUSES if target.wants(status)} == notified


def test_the_statuses_are_the_exit_codes_and_the_schema_lists_them_all() -> None:
    assert set(RUN_STATUSES) == {code.status for code in ExitCode}
    assert task_schema()["$defs"]["notify_when"]["enum"] == [*NOTIFY_SHORTHANDS, *RUN_STATUSES]


def test_a_run_that_when_does_not_match_sends_nothing(receiver: Receiver) -> None:
    done, warnings = send(NotifyTarget(url=receiver.url), report())  # default when: failure
    assert receiver.requests == [] and warnings == [] and done == report()


# --------------------------------------------------------------------------- payloads


def test_json_is_the_result_document(receiver: Receiver) -> None:
    run = report(ExitCode.TIMEOUT)
    done, warnings = send(NotifyTarget(url=receiver.url), run)
    assert warnings == [] and done == run
    (request,) = receiver.requests
    assert request.path == "/hook/T000/SECRETPART"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert request.headers["User-Agent"].startswith("bassi/")
    assert request.json() == json.loads(json.dumps(build_result(run)))


def test_slack_is_a_short_message_with_status_task_cost_duration_and_first_lines(receiver: Receiver) -> None:
    text = "\n".join(f"line {n} <@here> & co" for n in range(1, 30))
    send(NotifyTarget(url=receiver.url, format="slack"), report(ExitCode.FAILED, text))
    message = receiver.payloads()[0]
    assert set(message) == {"text", "blocks"}
    assert message["text"] == "bassi: weekly failed (exit 1) · $0.2500 · 1m01s"
    kinds = [block["type"] for block in message["blocks"]]
    assert kinds == ["section", "section", "section", "section", "context"]
    fields = [field["text"] for field in message["blocks"][1]["fields"]]
    assert fields == ["*Status*\nfailed (exit 1)", "*Task*\nweekly", "*Cost*\n$0.2500", "*Duration*\n1m01s"]
    assert message["blocks"][2]["text"]["text"] == "*RunFailed:* the model gave up"
    shown = message["blocks"][3]["text"]["text"]
    assert shown.startswith("```line 1 &lt;@here&gt; &amp; co\n") and "line 10 " in shown and "line 11 " not in shown
    assert shown.endswith("\n…```")
    for block in message["blocks"]:  # Slack refuses longer texts
        texts = [block.get("text", {}), *block.get("fields", []), *block.get("elements", [])]
        assert all(item["type"] == "mrkdwn" and len(item["text"]) <= 3000 for item in texts if item)


def test_slack_of_a_long_single_line_result_is_cut() -> None:
    shown = notify.result_start("x" * 10_000)
    assert len(shown) == notify.SLACK_RESULT_CHARS and shown.endswith("…")


def test_secrets_and_the_urls_are_redacted_from_every_payload(receiver: Receiver) -> None:
    text = f"the key is sk-ant-api03-Zz and the hook {receiver.url} and MARKER-s3cr3t-value"
    environ = {"HOOK": receiver.url}
    targets = [NotifyTarget(when=("always",), url_env="HOOK", format=fmt) for fmt in ("json", "slack")]
    notify.notify_run(targets, report(text=text), Redactor(["MARKER-s3cr3t-value"]), environ, warn=print)
    assert len(receiver.requests) == 2
    for request in receiver.requests:
        body = request.body.decode()
        assert "sk-ant-api03" not in body and "SECRETPART" not in body and "s3cr3t" not in body
        assert "[REDACTED]" in body


# --------------------------------------------------------------------------- retries and failures


def test_a_5xx_is_retried_then_sent(receiver: Receiver) -> None:
    receiver.fail(500, 503)
    done, warnings = send(NotifyTarget(url=receiver.url), report(ExitCode.FAILED))
    assert len(receiver.requests) == 3 and warnings == [] and done.notes == ()


def test_a_5xx_every_time_is_a_warning_and_a_note_naming_the_host_only(receiver: Receiver) -> None:
    receiver.fail(500, 500, 500)
    run = report(ExitCode.FAILED)
    done, warnings = send(NotifyTarget(url=receiver.url), run)
    expected = f"notification 1 (json to {receiver.host}) failed: HTTP 500 (after 3 attempts)"
    assert warnings == [expected] and done.notes == (expected,)
    assert done.exit_code is ExitCode.FAILED and build_result(done) == build_result(run)


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_a_4xx_is_not_retried(receiver: Receiver, status: int) -> None:
    receiver.fail(status)
    _, warnings = send(NotifyTarget(url=receiver.url), report(ExitCode.FAILED))
    assert len(receiver.requests) == 1
    assert warnings == [f"notification 1 (json to {receiver.host}) failed: HTTP {status}"]


def test_a_429_is_retried(receiver: Receiver) -> None:
    receiver.fail(429)
    _, warnings = send(NotifyTarget(url=receiver.url), report(ExitCode.FAILED))
    assert len(receiver.requests) == 2 and warnings == []


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.fail(302)
    _, warnings = send(NotifyTarget(url=receiver.url), report(ExitCode.FAILED))
    assert len(receiver.requests) == 1 and "HTTP 302 (a redirect" in warnings[0]


def test_a_dead_receiver_is_retried_then_a_warning() -> None:
    url = dead_url()
    done, warnings = send(NotifyTarget(url=url), report(ExitCode.FAILED))
    assert len(warnings) == 1 and "cannot connect: Connection refused (after 3 attempts)" in warnings[0]
    assert url not in warnings[0] and "127.0.0.1:" in warnings[0] and done.exit_code is ExitCode.FAILED


def test_a_hanging_receiver_is_cut_at_the_timeout_and_not_retried(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notify, "TIMEOUT_S", 0.3)
    receiver.hang_s = 5
    started = time.monotonic()
    _, warnings = send(NotifyTarget(url=receiver.url), report(ExitCode.FAILED))
    assert time.monotonic() - started < 2
    assert len(receiver.requests) == 1 and warnings == [
        f"notification 1 (json to {receiver.host}) failed: no answer within 0.3 s"
    ]


def test_an_unset_variable_is_a_warning_naming_it() -> None:
    done, warnings = send(NotifyTarget(url_env="TEAM_HOOK"), report(ExitCode.FAILED))
    expected = "notification 1 (json to $TEAM_HOOK) failed: the environment variable TEAM_HOOK is not set"
    assert warnings[0].startswith(expected) and done.notes[0].startswith(expected)


def test_one_failed_target_does_not_stop_the_others(receiver: Receiver) -> None:
    targets = [NotifyTarget(url_env="UNSET"), NotifyTarget(url=receiver.url)]
    warnings: list[str] = []
    done = notify.notify_run(targets, report(ExitCode.FAILED), Redactor([]), {}, warn=warnings.append)
    assert len(receiver.requests) == 1 and len(warnings) == 1 and len(done.notes) == 1


def test_ctrl_c_during_a_notification_keeps_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(url: str, body: bytes) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(notify, "post", interrupted)
    targets = [NotifyTarget(url="http://127.0.0.1/a"), NotifyTarget(url="http://127.0.0.1/b")]
    warnings: list[str] = []
    run = report(ExitCode.FAILED)
    done = notify.notify_run(targets, run, Redactor([]), {}, warn=warnings.append)
    assert done.exit_code is run.exit_code and [w.split(" failed: ", 1)[1] for w in warnings] == [
        "interrupted",
        "not sent (interrupted)",
    ]


# --------------------------------------------------------------------------- the environment's target


def test_the_environment_target_defaults_to_json_on_failure() -> None:
    assert notify.environment_target({}) is None
    target = notify.environment_target({"BASSI_NOTIFY_URL": "https://hooks.example/x"})
    assert target == NotifyTarget(when=("failure",), url_env="BASSI_NOTIFY_URL", format="json")
    target = notify.environment_target(
        {"BASSI_NOTIFY_URL": "https://x", "BASSI_NOTIFY_FORMAT": "slack", "BASSI_NOTIFY_WHEN": "success, timeout"}
    )
    assert target is not None and target.format == "slack" and target.when == ("success", "timeout")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BASSI_NOTIFY_FORMAT", "xml", "BASSI_NOTIFY_FORMAT: expected one of json, slack, got 'xml'"),
        ("BASSI_NOTIFY_WHEN", "failure,sometimes", "BASSI_NOTIFY_WHEN: unknown status 'sometimes'; choose from"),
    ],
)
def test_a_bad_environment_setting_is_a_usage_error(variable: str, value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        notify.environment_target({"BASSI_NOTIFY_URL": "https://x", variable: value})


def test_the_tasks_own_targets_come_first(tmp_path: Path) -> None:
    from bassi_ci.tasks.model import Task

    task = Task(id="t", name="t", prompt="p", notify=(NotifyTarget(url="http://a.example/"),))
    targets = notify.run_targets(task, {"BASSI_NOTIFY_URL": "https://b.example/"})
    assert [target.url or target.url_env for target in targets] == ["http://a.example/", "BASSI_NOTIFY_URL"]


@pytest.mark.parametrize("value", ["not-a-url-s3cr3t", "http://[::1/s3cr3t", "https://hooks.example:port/s3cr3t"])
def test_a_variable_that_holds_a_broken_url_is_a_warning_that_does_not_show_it(value: str) -> None:
    done, warnings = send(NotifyTarget(url_env="TEAM_HOOK"), report(ExitCode.FAILED), {"TEAM_HOOK": value})
    assert warnings == [
        "notification 1 (json to $TEAM_HOOK) failed: the environment variable TEAM_HOOK does not hold an "
        "http:// or https:// URL"
    ]
    assert done.exit_code is ExitCode.FAILED


def test_a_defect_while_notifying_is_a_warning_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> list[notify.Delivery]:
        raise RuntimeError("bug")

    monkeypatch.setattr(notify, "send_all", broken)
    done, warnings = send(NotifyTarget(url="http://127.0.0.1/a"), report(ExitCode.FAILED))
    assert warnings == ["notifications failed: unexpected error: RuntimeError"] and done.notes == tuple(warnings)
