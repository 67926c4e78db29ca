"""`bassi ci generate`: task files in, CI files out (or a drift report with --check)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bassi_ci.generators.files import GenerateError, Plan, Rendering, apply_plan, make_plan
from bassi_ci.generators.github import GithubOptions, render_github
from bassi_ci.generators.gitlab import GitlabOptions, render_gitlab
from bassi_ci.generators.jenkins import JenkinsOptions, render_jenkins
from bassi_ci.tasks.lookup import TaskFolder, load_folder
from bassi_ci.tasks.model import Task
from bassi_ci.tasks.templating import check_task_templates

TARGETS = ("github", "gitlab", "jenkins")


@dataclass(frozen=True)
class GenerateOptions:
    target: str = "github"
    action: str = GithubOptions.action
    install_command: str = GitlabOptions.install_command
    gitlab_image: str | None = GitlabOptions.image
    gitlab_ref: str = GitlabOptions.ref


@dataclass
class GenerateResult:
    plan: Plan
    notes: list[str] = field(default_factory=list)


def render(tasks: list[Task], tasks_dir: str, options: GenerateOptions, root: Path) -> Rendering:
    sources = {task.id: _reference(task.source, root) for task in tasks if task.source is not None}
    if options.target == "github":
        return render_github(tasks, GithubOptions(tasks_dir=tasks_dir, action=options.action), sources)
    if options.target == "gitlab":
        gitlab = GitlabOptions(options.install_command, options.gitlab_image, options.gitlab_ref)
        return render_gitlab(tasks, gitlab, tasks_dir, sources)
    if options.target == "jenkins":
        return render_jenkins(tasks, JenkinsOptions(install_command=options.install_command), sources)
    raise GenerateError(f"unknown target '{options.target}'; expected one of {', '.join(TARGETS)}")


def generate(folder: TaskFolder, out: Path, options: GenerateOptions, check: bool = False) -> GenerateResult:
    """Render every task of `folder` and bring `out` up to date (or only compare, with check=True)."""
    tasks = load_folder(folder)
    for task in tasks:  # a CI job cannot pass --var: every variable must be a built-in or in `vars:`
        check_task_templates(task, str(task.source or task.id), hint="'vars: {{{name}: VALUE}}' in the task file")
    rendering = render(tasks, _reference(folder.path, out), options, out)
    _refuse_undecodable(rendering)
    plan = make_plan(out, rendering)
    if not check:
        apply_plan(out, plan)
    return GenerateResult(plan=plan, notes=list(rendering.notes))


def _reference(path: Path, root: Path) -> str:
    """How the generated files name `path`: relative to the root, and as UTF-8 text, or not at all.

    A name that is not valid UTF-8 (Python holds its bytes as lone surrogates) cannot be written into
    a UTF-8 file so that the job finds the file again: refused, naming it with its bytes escaped.
    """
    text = _relative(path, root)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise GenerateError(
            f"{shown}: the name is not valid UTF-8, so a generated CI file cannot refer to it; rename it"
        ) from None
    return text


def _refuse_undecodable(rendering: Rendering) -> None:
    """An option given as bytes that are not UTF-8 (`--install-command`, ...) is refused the same way."""
    for file in rendering.files:
        try:
            file.text.encode("utf-8")
        except UnicodeEncodeError:
            raise GenerateError(f"{file.path}: an option given is not valid UTF-8 text; nothing was written") from None


def _relative(path: Path, root: Path) -> str:
    """`path` relative to the output root (the repository), in POSIX form, as workflows name it."""
    relative = os.path.relpath(path.resolve(), root.resolve())
    if relative == ".." or relative.startswith("../"):
        return path.as_posix()
    return Path(relative).as_posix()
