"""GitLab CI: one file, `.gitlab/bassi.gitlab-ci.yml`, with one job per task.

GitLab keeps schedules outside the repository (pipeline schedules), so each job
runs only in a scheduled pipeline whose BASSI_TASK variable names its task; the
file's header lists the `glab schedule create` command that creates each schedule.
Include it from `.gitlab-ci.yml` with `include: {local: .gitlab/bassi.gitlab-ci.yml}`.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Any

from bassi_ci.generators.cron import task_cron
from bassi_ci.generators.files import GeneratedFile, Rendering, dump_yaml, marker_line, one_line
from bassi_ci.tasks.model import Task

GITLAB_FILE = ".gitlab/bassi.gitlab-ci.yml"
RESULT_FILE = "bassi-result.json"
JUNIT_FILE = "bassi-junit.xml"
DEFAULT_INSTALL = "pip install bassi-ci"
DEFAULT_IMAGE = "python:3.12-slim"
TIMEOUT_MARGIN_MIN = 5


@dataclass(frozen=True)
class GitlabOptions:
    install_command: str = DEFAULT_INSTALL
    image: str | None = DEFAULT_IMAGE  # None: the runner's default (shell executors)
    ref: str = "main"  # branch the printed schedule commands point at


def job_name(task_id: str) -> str:
    return f"bassi-{task_id}"


def render_gitlab(tasks: list[Task], options: GitlabOptions, source: str) -> Rendering:
    jobs = {job_name(task.id): job_data(task, options) for task in tasks}
    commands = schedule_commands(tasks, options)
    header = [marker_line("#", source), "#", f"# Include it from .gitlab-ci.yml:  include: {{local: {GITLAB_FILE}}}",
              "# Each job runs only in a scheduled pipeline whose BASSI_TASK variable names its task.",
              "# Store the API key as a masked CI/CD variable ANTHROPIC_API_KEY. Create the schedules with:", "#"]
    header += [f"#   {one_line(command)}" for command in commands] or ["#   (no task has an active schedule)"]
    text = "\n".join(header) + "\n" + (dump_yaml(jobs) if jobs else "{}\n")
    files = (GeneratedFile(path=GITLAB_FILE, text=text),) if tasks else ()
    notes = ("Create the GitLab pipeline schedules with:", *commands) if commands else ()
    return Rendering(files=files, owned_globs=(GITLAB_FILE,), notes=notes)


def job_data(task: Task, options: GitlabOptions) -> dict[str, Any]:
    run = f"bassi execute {task.id} --ci --junit {JUNIT_FILE} > {RESULT_FILE}"
    job: dict[str, Any] = {}
    if options.image:
        job["image"] = options.image
    job.update({
        "rules": [{"if": f'$CI_PIPELINE_SOURCE == "schedule" && $BASSI_TASK == "{task.id}"'}],
        "resource_group": f"bassi-{task.id}",
        "interruptible": False,
        "timeout": f"{math.ceil(task.limits.timeout_s / 60) + TIMEOUT_MARGIN_MIN} minutes",
        "script": [options.install_command, run],
        "artifacts": {
            "when": "always",
            "paths": [RESULT_FILE, JUNIT_FILE],
            "reports": {"junit": JUNIT_FILE},
            "expire_in": "30 days",
        },
    })
    return job


def schedule_commands(tasks: list[Task], options: GitlabOptions) -> list[str]:
    """One `glab schedule create` per enabled, scheduled task (paused tasks get none)."""
    commands = []
    for task in tasks:
        cron = task_cron(task)
        if cron is None:
            continue
        args = ["glab", "schedule", "create", "--description", f"bassi: {task.id}", "--ref", options.ref,
                "--cron", cron.expression, "--cronTimeZone", cron.timezone, "--variable", f"BASSI_TASK:{task.id}"]
        commands.append(shlex.join(args))
    return commands
