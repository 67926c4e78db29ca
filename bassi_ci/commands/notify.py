"""`bassi notify …`: try a task's webhooks by hand, before a failed run needs them."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import click

from bassi_ci import output
from bassi_ci.commands.completion import complete_runnable_task
from bassi_ci.errors import ExitCode, UsageError
from bassi_ci.runs import notify as notifying
from bassi_ci.runs.redact import Redactor
from bassi_ci.tasks.lookup import find_task
from bassi_ci.tasks.model import DEFAULT_MODEL, NOTIFY_FORMATS, NotifyTarget

SAMPLE_TASK_ID = "notify-test"


@click.group(name="notify")
def notify() -> None:
    """Try the webhooks that tell people how runs ended."""


@notify.command(name="test")
@click.argument("task", required=False, shell_complete=complete_runnable_task)
@click.option(
    "--url",
    help="Send to this URL instead of the task's targets (it shows in process listings: prefer --url-env).",
)
@click.option("--url-env", metavar="NAME", help="Send to the URL in environment variable NAME instead.")
@click.option(
    "--format", "fmt", type=click.Choice(NOTIFY_FORMATS), help="Payload format (default: each target's own; json)."
)
def notify_test(task: str | None, url: str | None, url_env: str | None, fmt: str | None) -> int:
    """Send a sample notification to each of TASK's notify targets (or to --url / --url-env).

    \b
    Every target gets the sample, whatever its `when`. Prints one line per target;
    exit 1 when any of them failed, 2 for a usage error.
    """
    targets, task_id, model = _targets(task, url, url_env)
    if fmt is not None:
        targets = tuple(replace(target, format=fmt) for target in targets)
    environ = dict(os.environ)
    if url is not None:  # the literal URL travels as a variable of this process only, like a task's url_env
        environ[notifying.URL_ENV] = url
    report = notifying.sample_report(task_id, model)
    deliveries = notifying.send_all(list(enumerate(targets, 1)), report, Redactor.from_environ(), environ)
    for delivery in deliveries:
        outcome = f"sent ({delivery.detail})" if delivery.sent else f"failed: {delivery.detail}"
        output.echo(f"{delivery.label}: {outcome}")
    return int(ExitCode.SUCCESS if all(delivery.sent for delivery in deliveries) else ExitCode.FAILED)


def _targets(task: str | None, url: str | None, url_env: str | None) -> tuple[tuple[NotifyTarget, ...], str, str]:
    """(the targets, the sample's task id, its model) from the command line."""
    if url is not None and url_env is not None:
        raise UsageError("give --url or --url-env, not both")
    found = find_task(task, Path.cwd()) if task is not None else None
    task_id, model = (found.id, found.model) if found is not None else (SAMPLE_TASK_ID, DEFAULT_MODEL)
    if url is not None:
        _check_url(url)
        return (NotifyTarget(when=("always",), url_env=notifying.URL_ENV),), task_id, model
    if url_env is not None:
        return (NotifyTarget(when=("always",), url_env=url_env),), task_id, model
    if found is None:
        raise UsageError("give a TASK whose notify targets to try, or --url URL / --url-env NAME")
    targets = notifying.run_targets(found, os.environ)
    if not targets:
        where = f" in {found.source}" if found.source else ""
        raise UsageError(
            f"task '{found.id}' has no notify targets; add a 'notify' list{where} "
            f"(or set {notifying.URL_ENV}), or pass --url"
        )
    return targets, task_id, model


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError("--url: expected an http:// or https:// URL, e.g. https://hooks.slack.com/services/…")
