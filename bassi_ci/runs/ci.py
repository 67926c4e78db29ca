"""What CI systems understand: GitHub workflow commands and step summaries, GitLab
collapsible sections (JUnit XML is in junit.py). Pure text builders; the caller decides where it goes."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import count

from bassi_ci.runs.result import RunReport

_section_ids = count(1)


@dataclass(frozen=True)
class CiEnvironment:
    """Which CI system the run is in (from its documented environment variables)."""

    github: bool = False
    gitlab: bool = False
    ci: bool = False
    step_summary: str | None = None

    @classmethod
    def detect(cls, environ: Mapping[str, str]) -> CiEnvironment:
        github = environ.get("GITHUB_ACTIONS") == "true"
        gitlab = environ.get("GITLAB_CI") == "true"
        return cls(
            github=github,
            gitlab=gitlab,
            ci=github or gitlab or environ.get("CI", "").lower() in ("true", "1"),
            step_summary=environ.get("GITHUB_STEP_SUMMARY") or None if github else None,
        )


class Folder:
    """Opens and closes collapsible log groups in the syntax of the CI system."""

    def __init__(self, env: CiEnvironment) -> None:
        self.env = env
        self._open: str | None = None

    def start(self, title: str) -> str:
        if self.env.github:
            return f"::group::{escape_data(_one_line(title))}"
        if self.env.gitlab:
            self._open = f"bassi_{next(_section_ids)}"
            return f"\x1b[0Ksection_start:{int(time.time())}:{self._open}[collapsed=true]\r\x1b[0K{_one_line(title)}"
        return title

    def end(self) -> str | None:
        if self.env.github:
            return "::endgroup::"
        if self.env.gitlab and self._open:
            name, self._open = self._open, None
            return f"\x1b[0Ksection_end:{int(time.time())}:{name}\r\x1b[0K"
        return None

    @property
    def folds(self) -> bool:
        return self.env.github or self.env.gitlab


def escape_data(value: str) -> str:
    """Escape a workflow command's message (GitHub's rules: %, CR, LF)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a workflow command's property value (also ':' and ',')."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def stop_commands() -> tuple[str, str]:
    """A fresh pair of GitHub workflow commands to put around untrusted text (tool output,
    model text): between them no line is a command, and only this pair's random token resumes."""
    token = secrets.token_hex(16)
    return f"::stop-commands::{token}", f"::{token}::"


def annotation(level: str, title: str | None, message: str) -> str:
    """A workflow command (`::error title=…::…`) with its data escaped, so one message stays one annotation."""
    props = f" title={escape_property(title)}" if title else ""
    return f"::{level}{props}::{escape_data(message)}"


def error_annotation(message: str, title: str | None = None) -> str:
    return annotation("error", title, message)


def step_summary(report: RunReport) -> str:
    """A Markdown block for $GITHUB_STEP_SUMMARY."""
    icon = {"success": "✅", "idle": "💤"}.get(report.status, "❌")
    rows = [
        ("Status", f"{icon} `{report.status}` (exit {int(report.exit_code)})"),
        ("Turns", str(report.num_turns)),
        (
            "Tokens",
            f"{report.total_tokens:,} ({report.usage.get('input_tokens', 0):,} in, "
            f"{report.usage.get('output_tokens', 0):,} out)",
        ),
        ("Cost", f"${report.total_cost_usd:.4f}"),
        ("Duration", format_duration(report.duration_ms)),
        ("Model", f"`{report.model or '-'}`"),
        ("Run", f"`{report.run_id}`"),
    ]
    lines = [f"### bassi: {report.task_id or 'execute'}", "", "| | |", "| --- | --- |"]
    lines += [f"| {key} | {_cell(value)} |" for key, value in rows]
    if report.error is not None:
        lines += ["", f"**Error ({report.error.type}):** {_cell(report.error.message)}"]
    lines += ["", *(f"> **Note:** {_cell(note)}" for note in report.notes)] if report.notes else []
    if report.final_text.strip():
        lines += ["", "<details open><summary>Final text</summary>", "", report.final_text.strip(), "", "</details>"]
    return "\n".join(lines) + "\n\n"


def format_duration(ms: int) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def append_step_summary(path: str, report: RunReport) -> None:
    """Append (GitHub concatenates the summaries of all steps) the run's Markdown block."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(step_summary(report))
