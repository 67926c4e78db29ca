"""GitHub Actions: one workflow per task, `.github/workflows/bassi-<id>.yml`.

The workflow only names the task; the prompt, vars and commit settings stay in the
task file and are read by the action at run time, so no task text is ever
evaluated as a GitHub expression or pasted into a shell script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bassi_ci.generators.common import job_timeout_minutes
from bassi_ci.generators.cron import CronSpec, min_gap_minutes, task_cron
from bassi_ci.generators.files import GeneratedFile, GenerateError, Rendering, dump_yaml, marker_line
from bassi_ci.tasks.model import Task

WORKFLOWS_DIR = ".github/workflows"
CHECKOUT = "actions/checkout@v5"
DEFAULT_ACTION = "bassi/run@v1"
# GitHub runs scheduled workflows at most every 5 minutes.
GITHUB_MIN_INTERVAL_MIN = 5


@dataclass(frozen=True)
class GithubOptions:
    tasks_dir: str = ".bassi/tasks"  # relative to the repository root
    action: str = DEFAULT_ACTION
    runs_on: str = "ubuntu-latest"


def workflow_path(task_id: str) -> str:
    return f"{WORKFLOWS_DIR}/bassi-{task_id}.yml"


def render_github(tasks: list[Task], options: GithubOptions, sources: dict[str, str]) -> Rendering:
    files = tuple(render_workflow(task, options, sources.get(task.id, task.id)) for task in tasks)
    notes = tuple(
        f"{workflow_path(task.id)}: task '{task.id}' is paused; the workflow only runs by hand (workflow_dispatch)"
        for task in tasks
        if not task.enabled and task.schedule is not None
    )
    return Rendering(files=files, owned_globs=(f"{WORKFLOWS_DIR}/bassi-*.yml",), notes=notes)


def render_workflow(task: Task, options: GithubOptions, source: str) -> GeneratedFile:
    """The workflow of one task, as text."""
    cron = task_cron(task)
    if cron is not None:
        check_github_interval(task, cron)
    data = workflow_data(task, options, cron)
    header = [marker_line("#", source)]
    if not task.enabled and task.schedule is not None:
        header.append(f"# Task '{task.id}' is paused: no schedule, run it by hand (workflow_dispatch).")
    # PyYAML quotes the key 'on' (a YAML 1.1 boolean); GitHub reads it as the text key either way.
    body = dump_yaml(data).replace("\n'on':\n", "\non:\n", 1)
    return GeneratedFile(path=workflow_path(task.id), text="\n".join(header) + "\n" + body)


def workflow_data(task: Task, options: GithubOptions, cron: CronSpec | None) -> dict[str, Any]:
    triggers: dict[str, Any] = {}
    if cron is not None:
        triggers["schedule"] = [{"cron": cron.expression, "timezone": cron.timezone}]
    triggers["workflow_dispatch"] = {}
    return {
        "name": f"bassi: {static_text(task.name)}",
        "on": triggers,
        "concurrency": {"group": f"bassi-{task.id}", "cancel-in-progress": False},
        "permissions": permissions(task),
        "jobs": {"run": job_data(task, options)},
    }


def job_data(task: Task, options: GithubOptions) -> dict[str, Any]:
    # The token never stays in .git/config, where the agent's bash could read it: commit-back
    # pushes with the action's own copy (BASSI_GITHUB_TOKEN), given to `git push` alone.
    checkout: dict[str, Any] = {
        "name": "Check out the repository",
        "uses": CHECKOUT,
        "with": {"persist-credentials": False},
    }
    inputs: dict[str, Any] = {
        "task": task.id,
        "tasks-dir": expression_literal(options.tasks_dir),
        "anthropic-api-key": "${{ secrets.ANTHROPIC_API_KEY }}",
    }
    if task.commit is not None:
        inputs["commit"] = "true"
        if task.commit.pull_request:
            inputs["create-pull-request"] = "true"
    return {
        "runs-on": options.runs_on,
        "timeout-minutes": job_timeout_minutes(task),
        "steps": [
            checkout,
            {"name": f"Run bassi task {task.id}", "id": "bassi", "uses": options.action, "with": inputs},
        ],
    }


def permissions(task: Task) -> dict[str, str]:
    """Least privilege: write access only for what the task's commit settings need."""
    if task.commit is None:
        return {"contents": "read"}
    granted = {"contents": "write"}
    if task.commit.pull_request:
        granted["pull-requests"] = "write"
    return granted


def check_github_interval(task: Task, cron: CronSpec) -> None:
    gap = min_gap_minutes(cron.expression)
    if gap < GITHUB_MIN_INTERVAL_MIN:
        raise GenerateError(
            f"task '{task.id}'{f' ({task.source})' if task.source else ''}: schedule '{task.schedule}' runs"
            f" every {'minute' if gap == 1 else f'{gap} minutes'}, but GitHub runs "
            f"scheduled workflows at most every {GITHUB_MIN_INTERVAL_MIN} minutes; "
            f"use e.g. 'every {GITHUB_MIN_INTERVAL_MIN}m' or longer"
        )


def expression_literal(text: str) -> str:
    """Text for a field GitHub evaluates: a '${{' in it stays literal text."""
    return text.replace("${{", "${{ '${{' }}")


def static_text(text: str) -> str:
    """Text for a static field (workflow name), where GitHub allows no expressions at all."""
    return text.replace("${{", "$ {{")
