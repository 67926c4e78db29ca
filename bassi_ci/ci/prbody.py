"""The body of the pull request (GitHub) or merge request (GitLab) commit-back opens: what the
run said, what it cost, how long it took, how it ended and where to see it.

Pure text from the run's result document and the CI environment. Redaction happens where the
body is sent (pullrequest.py), with the push credential's forms added, like every other output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

SUMMARY_LINES = 15  # the first lines of the result; the whole text is in the run's result file
SUMMARY_CHARS = 3000
FOOTER = "Opened by bassi commit-back."


def review_body(result: Mapping[str, Any] | None, environ: Mapping[str, str], work_branch: str = "") -> str:
    """Markdown: the summary as a quote (so the model's text cannot close a fence or fake a table
    row of ours), then status, cost, duration, the side branch of a failed run, a link to the run."""
    if not result:
        return FOOTER
    parts = [_quoted(_summary(result))] if _summary(result) else []
    facts = [f"- **Status:** `{result.get('status', 'unknown')}` (exit code {result.get('exit_code', '?')})"]
    facts += _optional_facts(result, work_branch)
    link = run_link(environ)
    if link:
        facts.append(f"- **Run:** {link}")
    parts += ["\n".join(facts), FOOTER]
    return "\n\n".join(parts)


def run_link(environ: Mapping[str, str]) -> str:
    """The CI run's page: GitHub Actions, a GitLab job or a Jenkins build; "" elsewhere."""
    server, repository, run = (environ.get(name, "").strip() for name in _GITHUB_RUN)
    if server and repository and run:
        return _web_url(f"{server.rstrip('/')}/{repository}/actions/runs/{run}")
    for name in ("CI_JOB_URL", "BUILD_URL"):  # GitLab, Jenkins
        url = _web_url(environ.get(name, "").strip())
        if url:
            return url
    return ""


_GITHUB_RUN = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")


def _web_url(url: str) -> str:
    """`url` when it is a plain http(s) address, else "" (never a link of another scheme, nor a
    value with spaces or brackets that would break the Markdown around it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    if any(char.isspace() or char in "()[]<>" for char in url):
        return ""
    return url


def _summary(result: Mapping[str, Any]) -> str:
    """The first lines of the result text; for a run without one, its error message."""
    text = result.get("result")
    if not isinstance(text, str) or not text.strip():
        error = result.get("error")
        text = error.get("message") if isinstance(error, dict) else None
    if not isinstance(text, str):
        return ""
    lines = text.strip().splitlines()
    shown = "\n".join(lines[:SUMMARY_LINES])[:SUMMARY_CHARS]
    cut = len(lines) > SUMMARY_LINES or len(shown) < len("\n".join(lines[:SUMMARY_LINES]))
    return shown + ("\n…" if cut else "")


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _optional_facts(result: Mapping[str, Any], work_branch: str) -> list[str]:
    facts = []
    for label, key in (("Task", "task_id"), ("Run id", "run_id")):
        if isinstance(result.get(key), str) and result[key]:
            facts.append(f"- **{label}:** `{result[key].replace('`', '')}`")
    cost = result.get("total_cost_usd")
    if isinstance(cost, int | float) and not isinstance(cost, bool):
        facts.append(f"- **Cost:** ${cost:.4f}")
    duration = result.get("duration_ms")
    if isinstance(duration, int) and not isinstance(duration, bool) and duration >= 0:
        facts.append(f"- **Duration:** {_duration(duration)}")
    if work_branch:
        facts.append(f"- **Work kept on:** `{work_branch}` (the run did not succeed; review before merging)")
    return facts


def _duration(milliseconds: int) -> str:
    seconds = round(milliseconds / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {seconds}s"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"
