"""Word of how a run ended: POST to the task's webhooks once its result is final.

A notification is a courtesy, never part of the run: whatever happens here (an unset
variable, a dead receiver, a hang, Ctrl-C) becomes a warning on stderr and a note in the
summaries; the result document and the exit code stay as they were.

Targets come from the task's `notify` list and from the environment (BASSI_NOTIFY_URL, the
action's `notify-url`). Their URLs are credentials (whoever holds one can post): messages
name the host only, and the URLs are redacted from the payloads along with every other secret.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bassi_ci import __version__, output
from bassi_ci.envnames import NOTIFY_URL_ENV
from bassi_ci.errors import ExitCode, UsageError
from bassi_ci.runs.ci import format_duration
from bassi_ci.runs.redact import Redactor
from bassi_ci.runs.result import RunReport, build_result
from bassi_ci.tasks.model import (
    DEFAULT_NOTIFY_WHEN,
    NOTIFY_FORMATS,
    NOTIFY_SHORTHANDS,
    RUN_STATUSES,
    NotifyTarget,
    Task,
)

if TYPE_CHECKING:
    import urllib.request

# The environment's own target (the action's notify-url input, a CI variable, the env file).
URL_ENV = NOTIFY_URL_ENV  # hidden from the agent's commands and redacted, as the API key is
FORMAT_ENV = "BASSI_NOTIFY_FORMAT"
WHEN_ENV = "BASSI_NOTIFY_WHEN"

# Module attributes, not constants in the code, so tests can make a hang or a retry fast.
TIMEOUT_S = 10.0
BACKOFF_S = (1.0, 3.0)  # the waits before the second and the third attempt
MAX_RESPONSE_BYTES = 64 * 1024
# Slack refuses a section text over 3,000 characters; the first lines are what a person reads.
SLACK_RESULT_LINES = 10
SLACK_RESULT_CHARS = 2_500
SLACK_ERROR_CHARS = 1_000

Warn = Callable[[str], None]


class NotifyFailed(Exception):
    """Why one notification did not arrive (a message for people; never holds the URL)."""


class _Retryable(NotifyFailed):
    """A failure that a later attempt may not meet: a 5xx, a 429, a refused or reset connection."""


@dataclass(frozen=True)
class Delivery:
    """What became of one notification."""

    number: int  # 1-based position among the run's targets, as people count them
    target: NotifyTarget
    host: str
    sent: bool
    detail: str  # "HTTP 200", or why it was not sent

    @property
    def label(self) -> str:
        return f"notification {self.number} ({self.target.format} to {self.host})"


def environment_target(environ: Mapping[str, str]) -> NotifyTarget | None:
    """The target BASSI_NOTIFY_URL (with _FORMAT and _WHEN) asks for; a bad value is a UsageError."""
    if not environ.get(URL_ENV, "").strip():
        return None
    fmt = parse_format(environ.get(FORMAT_ENV, ""), FORMAT_ENV)
    return NotifyTarget(when=parse_when(environ.get(WHEN_ENV, ""), WHEN_ENV), url_env=URL_ENV, format=fmt)


def parse_format(text: str, name: str) -> str:
    """A format word (empty: json); `name` is what the user set, for the error."""
    fmt = text.strip() or "json"
    if fmt not in NOTIFY_FORMATS:
        raise UsageError(f"{name}: expected one of {', '.join(NOTIFY_FORMATS)}, got {fmt!r}")
    return fmt


def parse_when(text: str, name: str) -> tuple[str, ...]:
    """Statuses and shorthands separated by commas or spaces (empty: failure)."""
    words = tuple(word for word in re.split(r"[\s,]+", text) if word)
    allowed = (*NOTIFY_SHORTHANDS, *RUN_STATUSES)
    unknown = [word for word in words if word not in allowed]
    if unknown:
        raise UsageError(f"{name}: unknown status {unknown[0]!r}; choose from {', '.join(allowed)}")
    return tuple(dict.fromkeys(words)) or DEFAULT_NOTIFY_WHEN


def run_targets(task: Task, environ: Mapping[str, str]) -> tuple[NotifyTarget, ...]:
    """The task's targets, then the environment's; a bad environment setting is a UsageError."""
    extra = environment_target(environ)
    return (*task.notify, extra) if extra is not None else task.notify


def notify_run(
    targets: Sequence[NotifyTarget],
    report: RunReport,
    redactor: Redactor,
    environ: Mapping[str, str],
    warn: Warn | None = None,
) -> RunReport:
    """Send the run's end to each target whose `when` matches; never raises. The report comes
    back with a note per failed notification (the summaries show them), nothing else changed."""
    wanted = [(number, target) for number, target in enumerate(targets, 1) if target.wants(report.status)]
    if not wanted:
        return report
    try:
        deliveries = send_all(wanted, report, redactor, environ)
        notes = [f"{delivery.label} failed: {delivery.detail}" for delivery in deliveries if not delivery.sent]
    except KeyboardInterrupt:  # between two deliveries: the run's own report stands
        return report
    except Exception as bug:  # a defect here must not cost the run its result
        notes = [f"notifications failed: unexpected error: {type(bug).__name__}"]
    for note in notes:
        (warn or _warn)(note)
    return replace(report, notes=(*report.notes, *notes)) if notes else report


def send_all(
    targets: Sequence[tuple[int, NotifyTarget]], report: RunReport, redactor: Redactor, environ: Mapping[str, str]
) -> list[Delivery]:
    """Deliver to each numbered target in turn; Ctrl-C stops the rest (they count as not sent)."""
    deliveries: list[Delivery] = []
    urls = [url for _, target in targets if (url := _url_or_none(target, environ))]
    scrub = Redactor(urls)  # should the model have quoted a webhook URL, it goes no further either
    stopped = False
    for number, target in targets:
        if stopped:
            deliveries.append(Delivery(number, target, _host_of(target, environ), False, "not sent (interrupted)"))
            continue
        try:
            deliveries.append(deliver(number, target, report, lambda data: scrub.data(redactor.data(data)), environ))
        except KeyboardInterrupt:
            stopped = True
            deliveries.append(Delivery(number, target, _host_of(target, environ), False, "interrupted"))
    return deliveries


def deliver(
    number: int,
    target: NotifyTarget,
    report: RunReport,
    redact: Callable[[Any], Any],
    environ: Mapping[str, str],
) -> Delivery:
    """POST the report in the target's format; a Delivery whatever happens (but Ctrl-C)."""
    host = _host_of(target, environ)
    try:
        url = target_url(target, environ)
        body = json.dumps(redact(payload(target.format, report)), ensure_ascii=False).encode("utf-8")
        status = post(url, body)
    except NotifyFailed as problem:
        return Delivery(number, target, host, False, str(problem))
    except Exception as bug:  # a defect here must not cost the run its result
        return Delivery(number, target, host, False, f"unexpected error: {type(bug).__name__}")
    return Delivery(number, target, host, True, f"HTTP {status}")


def target_url(target: NotifyTarget, environ: Mapping[str, str]) -> str:
    """The target's URL: its own, or its variable's value, which must be an http(s) URL."""
    if target.url is not None:
        if not _is_web_url(target.url):
            raise NotifyFailed("the task's url is not an http:// or https:// URL")
        return target.url
    name = target.url_env or ""
    value = environ.get(name, "").strip()
    if not value:
        raise NotifyFailed(f"the environment variable {name} is not set (it should hold the webhook URL)")
    if not _is_web_url(value):
        raise NotifyFailed(f"the environment variable {name} does not hold an http:// or https:// URL")
    return value


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port that is no number raises here, not later
    except ValueError:  # that, or an unclosed [IPv6 bracket
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def payload(fmt: str, report: RunReport) -> dict[str, Any]:
    """`json`: the result document, as `bassi execute --ci` prints it; `slack`: a short message."""
    return slack_message(report) if fmt == "slack" else build_result(report)


def slack_message(report: RunReport) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` (the notification line, and all that clients
    without blocks show) and `blocks` with status, task, cost, duration and the result's start."""
    task = report.task_id or "ad-hoc prompt"
    success = report.exit_code is ExitCode.SUCCESS
    icon = ":white_check_mark:" if success else ":x:"
    status = f"{report.status} (exit {int(report.exit_code)})"
    cost, duration = f"${report.total_cost_usd:.4f}", format_duration(report.duration_ms)
    blocks: list[dict[str, Any]] = [
        _section(f"{icon} *bassi: {_mrkdwn(task)}* ended with *{_mrkdwn(status)}*"),
        {
            "type": "section",
            "fields": [
                _mrkdwn_text(f"*Status*\n{_mrkdwn(status)}"),
                _mrkdwn_text(f"*Task*\n{_mrkdwn(task)}"),
                _mrkdwn_text(f"*Cost*\n{cost}"),
                _mrkdwn_text(f"*Duration*\n{duration}"),
            ],
        },
    ]
    if report.error is not None and not success:
        message = _cut(report.error.message, SLACK_ERROR_CHARS)
        blocks.append(_section(f"*{_mrkdwn(report.error.type)}:* {_mrkdwn(message)}"))
    first_lines = result_start(report.final_text)
    if first_lines:
        blocks.append(_section(f"```{_mrkdwn(first_lines)}```"))
    blocks.append({"type": "context", "elements": [_mrkdwn_text(f"run `{_mrkdwn(report.run_id)}`")]})
    return {"text": f"bassi: {task} {status} · {cost} · {duration}", "blocks": blocks}


def result_start(text: str) -> str:
    """The first SLACK_RESULT_LINES lines of the final text, at most SLACK_RESULT_CHARS long."""
    lines = text.strip().splitlines()
    start = "\n".join(lines[:SLACK_RESULT_LINES]) + ("\n…" if len(lines) > SLACK_RESULT_LINES else "")
    return _cut(start, SLACK_RESULT_CHARS)


def post(url: str, body: bytes) -> int:
    """POST `body` as JSON; the HTTP status of a 2xx answer, else NotifyFailed. A 5xx, a 429 or a
    failed connection is tried again after BACKOFF_S; a timeout is not (the hook may have got
    the message and be slow to answer: trying again would post it twice, and wait twice)."""
    attempts = len(BACKOFF_S) + 1
    for attempt in range(attempts):
        try:
            return _post_once(url, body)
        except _Retryable as problem:
            if attempt == attempts - 1:
                raise NotifyFailed(f"{problem} (after {attempts} attempts)") from None
            time.sleep(BACKOFF_S[attempt])
    raise AssertionError("unreachable")  # pragma: no cover


def _post_once(url: str, body: bytes) -> int:
    # Lazy: urllib.request (with http.client, email and ssl) is ~60 ms; runs without targets never post.
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": f"bassi/{__version__}"},
    )
    try:
        with _opener().open(request, timeout=TIMEOUT_S) as response:
            response.read(MAX_RESPONSE_BYTES)
            return int(response.status)
    except urllib.error.HTTPError as answer:
        raise _refusal(answer.code) from None
    except urllib.error.URLError as problem:
        if isinstance(problem.reason, TimeoutError):
            raise _timed_out() from None
        raise _Retryable(f"cannot connect: {_reason(problem.reason)}") from None
    except TimeoutError:
        raise _timed_out() from None
    except (OSError, http.client.HTTPException) as problem:  # reset, closed early, a garbled answer
        raise _Retryable(f"the connection failed: {_reason(problem)}") from None


def _opener() -> urllib.request.OpenerDirector:
    import urllib.request

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        """A redirect would take the run's result to a host nobody configured: it is a failure."""

        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirects)


def _refusal(code: int) -> NotifyFailed:
    if code >= 500 or code == 429:
        return _Retryable(f"HTTP {code}")
    if 300 <= code < 400:
        return NotifyFailed(f"HTTP {code} (a redirect; bassi does not follow it: give the final URL)")
    return NotifyFailed(f"HTTP {code}")


def _timed_out() -> NotifyFailed:
    return NotifyFailed(f"no answer within {TIMEOUT_S:g} s")


def _reason(problem: object) -> str:
    if isinstance(problem, OSError) and problem.strerror:
        return problem.strerror
    return str(problem) or type(problem).__name__


def _url_or_none(target: NotifyTarget, environ: Mapping[str, str]) -> str | None:
    try:
        return target_url(target, environ)
    except NotifyFailed:
        return None


def _host_of(target: NotifyTarget, environ: Mapping[str, str]) -> str:
    """The host (and port) of the target's URL: all of it that messages show."""
    url = _url_or_none(target, environ)
    if url is None:
        return f"${target.url_env}" if target.url_env else "?"
    parts = urlsplit(url)  # a valid URL (_is_web_url): nothing here raises
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _warn(message: str) -> None:
    output.write(sys.stderr, f"bassi: warning: {message}\n")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn_text(text)}


def _mrkdwn_text(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _mrkdwn(text: str) -> str:
    """Slack's three control characters, escaped as Slack asks (no mention or link sneaks in)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sample_report(task_id: str, model: str) -> RunReport:
    """A made-up successful run, for `bassi notify test`: every field a real one fills."""
    return RunReport(
        run_id="20270101T090000Z-sample",
        task_id=task_id,
        exit_code=ExitCode.SUCCESS,
        started_at="2027-01-01T09:00:00Z",
        finished_at="2027-01-01T09:01:05Z",
        duration_ms=65_000,
        duration_api_ms=41_000,
        model=model,
        num_turns=3,
        usage={"input_tokens": 1200, "output_tokens": 340},
        total_cost_usd=0.0123,
        final_text="This is a test notification from `bassi notify test`.\nA real run sends its own result here.",
    )
