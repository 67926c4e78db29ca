"""Template variables in prompts and output paths: plain `{name}` substitution.

No attribute access, no format specs, no code: `{name}` is replaced by the text of
the variable, `{{` and `}}` stand for literal braces, and anything else that opens a
brace is a TemplateError (exit 2) naming the problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bassi_ci.errors import TemplateError, UsageError
from bassi_ci.tasks.model import Task

RESERVED_NAMES = ("task_id", "run_id")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TOKEN_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|\{")


def builtin_variables(
    *, task_id: str, run_id: str, now: datetime, zone: str | None, last_run: datetime | None
) -> dict[str, str]:
    """The variables every run has; times are wall-clock times in the task's zone."""
    local = now.astimezone(ZoneInfo(zone)) if zone else now.astimezone()
    return {
        "date": local.strftime("%Y-%m-%d"),
        "time": local.strftime("%H:%M"),
        "timestamp": local.isoformat(timespec="seconds"),
        "weekday": local.strftime("%A"),
        "task_id": task_id,
        "run_id": run_id,
        "last_run": last_run.astimezone(local.tzinfo).isoformat(timespec="seconds") if last_run else "never",
    }


def merge_variables(builtins: Mapping[str, str], *layers: Mapping[str, str]) -> dict[str, str]:
    """Built-ins overlaid by task vars, then --var; task_id and run_id cannot be overridden."""
    merged = dict(builtins)
    for layer in layers:
        for name, value in layer.items():
            check_variable_name(name)
            if name in RESERVED_NAMES:
                raise TemplateError(f"variable '{name}' is set by bassi and cannot be overridden")
            merged[name] = value
    return merged


def check_variable_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise TemplateError(
            f"'{name}' is not a valid variable name: use letters, digits and underscores, e.g. team_name"
        )


def parse_vars(pairs: Iterable[str], option: str = "--var", *, check_names: bool = False) -> dict[str, str]:
    """KEY=VALUE pairs of a repeatable option as a dict; with `check_names`, each KEY must be
    a valid variable name (checked pair by pair, in order)."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} {pair!r}: expected KEY=VALUE, e.g. {option} team=platform")
        if check_names:
            check_variable_name(key)
        values[key] = value
    return values


def expand(
    template: str, variables: Mapping[str, str], *, where: str = "prompt", add_hint: str = "--var {name}=VALUE"
) -> str:
    """`template` with every `{name}` replaced; `{{`/`}}` become literal braces. `add_hint` says
    how the user defines a missing variable."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name is None:
            raise TemplateError(
                f"{where}: unmatched '{{' at character {match.start() + 1}; write '{{{{' for a literal brace"
            )
        if name not in variables:
            if not NAME_RE.fullmatch(name):
                raise TemplateError(
                    f"{where}: '{token}' is not a template variable; write '{{{{' and '}}}}' for literal braces"
                )
            known = ", ".join(sorted(variables))
            how = add_hint.format(name=name)
            raise TemplateError(f"{where}: unknown template variable '{{{name}}}' (known: {known}; add one with {how})")
        return variables[name]

    return _TOKEN_RE.sub(replace, template)


def expand_output_path(template: str, variables: Mapping[str, str], workdir: Path) -> Path:
    """An output path template expanded and resolved inside `workdir` (never outside it)."""
    text = expand(template, variables, where=f"output path '{template}'")
    root = workdir.resolve()
    path = (root / text).resolve()
    if path != root and root not in path.parents:
        raise TemplateError(f"output path '{template}' expands to {path}, outside the workspace {root}")
    return path


BUILTIN_NAMES = ("date", "time", "timestamp", "weekday", "task_id", "run_id", "last_run")


def check_task_templates(task: Task, where: str, hint: str = "--var {name}=VALUE") -> None:
    """Every `{name}` in the task's prompt and commit settings is a built-in or one of its
    `vars`: checked when the task is saved or generated (`add`, `edit`, `ci generate`), not
    first when a scheduled run starts hours later. `hint` says how the user adds a variable."""
    known = {name: "" for name in (*BUILTIN_NAMES, *task.vars)}
    texts = [("prompt", task.prompt)]
    if task.commit is not None:
        texts += [("commit.message", task.commit.message), *(("commit.paths", path) for path in task.commit.paths)]
        if task.commit.branch:
            texts.append(("commit.branch", task.commit.branch))
    for field_name, text in texts:
        expand(text, known, where=f"{where}: field '{field_name}'", add_hint=hint)
