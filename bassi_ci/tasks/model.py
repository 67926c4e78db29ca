"""The task record: what to run, when, and within which limits.

Tasks are frozen: an edit builds a new Task (dataclasses.replace) and the store
writes it whole, so no code path can change half a task.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bassi_ci.errors import UsageError
from bassi_ci.tasks.mcp_servers import MCP_ALLOW_RE, McpServerSpec, servers_from_dict, servers_to_dict

DEFAULT_MODEL = "claude-sonnet-5-5"
ALL_TOOLS = ("bash", "str_replace_based_edit_tool", "ask_user")
DEFAULT_TIMEOUT_S = 1800
DEFAULT_MAX_TURNS = 50
DEFAULT_RETRIES = 2

# A slug can go into a file name, a systemd unit name, a crontab line and a YAML
# key without quoting: lower-case ASCII letters, digits and single inner hyphens.
SLUG_RE = re.compile(r"\A[a-z0-9]+(-[a-z0-9]+)*\Z")  # \Z, not $: "a\n" is no id
SLUG_MAX = 63
_DURATION_RE = re.compile(r"^([1-9][0-9]{0,5})(s|m|h)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
# The one rule for a wall-clock limit, in task files (limits.timeout) and on the command line.
MAX_TIMEOUT_S = 7 * 24 * 3600
TIMEOUT_RULE = "seconds (a whole number >= 1) or a duration such as 30m, 2h, 90s, at most 7 days"


@dataclass(frozen=True)
class Limits:
    timeout_s: int = DEFAULT_TIMEOUT_S
    max_turns: int = DEFAULT_MAX_TURNS
    max_budget_usd: float | None = None


DEFAULT_COMMIT_MESSAGE = "bassi: {task_id} results of {date}"
# What commit-back does with the changes of a run that did not succeed (see ci/request.py):
# drop them, or push them to the side branch bassi/<task_id>/<run_id>.
ON_FAILURE_CHOICES = ("discard", "branch")


@dataclass(frozen=True)
class CommitSettings:
    """Which files a CI run may commit back, and how (see bassi_ci.ci.commit)."""

    paths: tuple[str, ...]
    message: str = DEFAULT_COMMIT_MESSAGE
    branch: str | None = None
    pull_request: bool = False
    on_failure: str = "discard"  # one of ON_FAILURE_CHOICES

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"paths": list(self.paths)}
        if self.message != DEFAULT_COMMIT_MESSAGE:
            data["message"] = self.message
        if self.branch is not None:
            data["branch"] = self.branch
        if self.pull_request:
            data["pull_request"] = True
        if self.on_failure != "discard":
            data["on_failure"] = self.on_failure
        return data


# When a notification goes out: a run status (bassi_ci.errors.ExitCode's words), or a shorthand.
RUN_STATUSES = (
    "success",
    "failed",
    "usage_error",
    "needs_input",
    "timeout",
    "limit_reached",
    "api_error",
    "auth_error",
    "locked",
    "forbidden",
    "interrupted",
)
NOTIFY_SHORTHANDS = {"failure": RUN_STATUSES[1:], "always": RUN_STATUSES}
NOTIFY_FORMATS = ("json", "slack")
DEFAULT_NOTIFY_WHEN = ("failure",)


@dataclass(frozen=True)
class NotifyTarget:
    """A webhook to POST the run's end to (see bassi_ci.runs.notify).

    The URL is a secret (whoever has it can post): `url_env` names the variable holding it;
    `url`, written in the task file itself, is for hooks that are not secret.
    """

    when: tuple[str, ...] = DEFAULT_NOTIFY_WHEN
    url_env: str | None = None
    url: str | None = None
    format: str = "json"

    def wants(self, status: str) -> bool:
        """Whether a run that ended with `status` is notified."""
        return any(status == word or status in NOTIFY_SHORTHANDS.get(word, ()) for word in self.when)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"when": list(self.when)}
        data.update({"url_env": self.url_env} if self.url_env is not None else {"url": self.url})
        data["format"] = self.format
        return data


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    prompt: str
    schedule: str | None = None
    timezone: str | None = None
    enabled: bool = True
    model: str = DEFAULT_MODEL
    limits: Limits = field(default_factory=Limits)
    tools: tuple[str, ...] = ALL_TOOLS
    workdir: str | None = None
    retries: int = DEFAULT_RETRIES
    vars: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    commit: CommitSettings | None = None
    # MCP servers whose tools the agent is offered (see tasks/mcp_servers.py).
    mcp_servers: tuple[McpServerSpec, ...] = ()
    # `bassi scheduler run`: run once at start when a due time passed while it was down.
    catch_up: bool = False
    notify: tuple[NotifyTarget, ...] = ()
    # The JSON Schema of the run's structured output, as written: inline, or a path relative to
    # the task file (tasks/output_schema.py resolves and checks it).
    output_schema: dict[str, Any] | str | None = None
    # Where the task was loaded from; not part of the stored record.
    source: Path | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The record as written to a task file (keys in a stable, readable order)."""
        data: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.description:
            data["description"] = self.description
        data["prompt"] = self.prompt
        if self.schedule is not None:
            data["schedule"] = self.schedule
        if self.timezone is not None:
            data["timezone"] = self.timezone
        data["enabled"] = self.enabled
        data["model"] = self.model
        limits: dict[str, Any] = {
            "timeout": self.limits.timeout_s,
            "max_turns": self.limits.max_turns,
        }
        if self.limits.max_budget_usd is not None:
            limits["max_budget_usd"] = self.limits.max_budget_usd
        data["limits"] = limits
        data["tools"] = list(self.tools)
        if self.workdir is not None:
            data["workdir"] = self.workdir
        data["retries"] = self.retries
        if self.commit is not None:
            data["commit"] = self.commit.to_dict()
        if self.catch_up:
            data["catch_up"] = True
        if self.mcp_servers:
            data["mcp_servers"] = servers_to_dict(self.mcp_servers)
        if self.notify:
            data["notify"] = [target.to_dict() for target in self.notify]
        if self.output_schema is not None:
            data["output_schema"] = self.output_schema
        if self.vars:
            data["vars"] = dict(self.vars)
        return data


def parse_duration(value: int | str) -> int:
    """Seconds from an integer or a '30m' / '2h' / '90s' string (already schema-checked)."""
    if isinstance(value, int):
        return value
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueError(f"not a duration: {value!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def timeout_seconds(value: int | str) -> int:
    """A wall-clock limit in seconds by the one rule (TIMEOUT_RULE); ValueError otherwise."""
    seconds = parse_duration(value.strip() if isinstance(value, str) else value)
    if not 1 <= seconds <= MAX_TIMEOUT_S:
        raise ValueError(f"{seconds} s is outside 1 s to 7 days")
    return seconds


def parse_tools(text: str | None, *, check: bool = True) -> tuple[str, ...] | None:
    """The names in a comma-separated --tools value (None when not given).

    With `check`, a repeated name counts once and an unknown one is a UsageError; without,
    the names stay as given and the task schema judges them (`schedule add` and `edit`).
    MCP tools are named `mcp__<server>` or `mcp__<server>__<tool>` (tasks/mcp_servers.py).
    """
    if text is None:
        return None
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not check:
        return names
    names = tuple(dict.fromkeys(names))
    unknown = [name for name in names if name not in ALL_TOOLS and not MCP_ALLOW_RE.match(name)]
    if unknown:
        raise UsageError(
            f"--tools: unknown tool '{unknown[0]}'; choose from {', '.join(ALL_TOOLS)}, "
            "mcp__<server> or mcp__<server>__<tool>"
        )
    return names


def duration_option(text: str | None) -> int | str | None:
    """A --timeout value as a task file holds it: all digits are seconds, anything else stays text."""
    if text is None:
        return None
    return int(text) if text.isdigit() else text


def slugify(name: str) -> str:
    """A safe task id from a free-text name: 'Weekly Report!' -> 'weekly-report'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def task_from_dict(data: dict[str, Any], source: Path | None = None) -> Task:
    """Build a Task from a record that already passed the JSON Schema."""
    limits = data.get("limits", {})
    task_id = data.get("id") or slugify(data["name"])
    return Task(
        id=task_id,
        name=data.get("name", task_id),
        prompt=data["prompt"],
        schedule=data.get("schedule"),
        timezone=data.get("timezone"),
        enabled=data.get("enabled", True),
        model=data.get("model", DEFAULT_MODEL),
        limits=Limits(
            timeout_s=parse_duration(limits.get("timeout", DEFAULT_TIMEOUT_S)),
            max_turns=limits.get("max_turns", DEFAULT_MAX_TURNS),
            max_budget_usd=limits.get("max_budget_usd"),
        ),
        tools=tuple(data.get("tools", ALL_TOOLS)),
        workdir=data.get("workdir"),
        retries=data.get("retries", DEFAULT_RETRIES),
        vars={key: _var_text(value) for key, value in data.get("vars", {}).items()},
        description=data.get("description"),
        commit=_commit_settings(data.get("commit")),
        catch_up=bool(data.get("catch_up", False)),
        mcp_servers=servers_from_dict(data.get("mcp_servers")),
        notify=tuple(notify_target(item) for item in data.get("notify", ())),
        output_schema=data.get("output_schema"),
        source=source,
    )


def _commit_settings(data: dict[str, Any] | None) -> CommitSettings | None:
    if data is None:
        return None
    return CommitSettings(
        paths=tuple(data["paths"]),
        message=data.get("message", DEFAULT_COMMIT_MESSAGE),
        branch=data.get("branch"),
        pull_request=bool(data.get("pull_request", False)),
        on_failure=data.get("on_failure", "discard"),
    )


def notify_target(data: dict[str, Any]) -> NotifyTarget:
    """A notify entry that passed the schema; a single `when` word counts as a list of one."""
    when = data.get("when", DEFAULT_NOTIFY_WHEN)
    return NotifyTarget(
        when=(when,) if isinstance(when, str) else tuple(when),
        url_env=data.get("url_env"),
        url=data.get("url"),
        format=data.get("format", "json"),
    )


def _var_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
