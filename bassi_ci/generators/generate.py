"""`bassi ci generate`: task files in, CI files out (or a drift report with --check).

The options a generate was given are kept in `.bassi/ci-generate.yaml` (saved_options.py), so a
later run without them renders the same files. A CI runner has only the repository: task files
outside it, and a `workdir` naming a folder of this machine, are refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bassi_ci.generators.common import DEFAULT_INSTALL
from bassi_ci.generators.files import GenerateError, Plan, Rendering, apply_plan, make_plan
from bassi_ci.generators.github import DEFAULT_ACTION, GithubOptions, render_github
from bassi_ci.generators.gitlab import DEFAULT_IMAGE, GitlabOptions, render_gitlab
from bassi_ci.generators.jenkins import DEFAULT_INSTALL as JENKINS_INSTALL
from bassi_ci.generators.jenkins import JenkinsOptions, render_jenkins
from bassi_ci.generators.kubernetes import DEFAULT_IMAGE as KUBERNETES_IMAGE
from bassi_ci.generators.kubernetes import KubernetesOptions, render_kubernetes
from bassi_ci.generators.kubernetes_workers import (
    DEFAULT_QUEUE_SCHEDULE,
    DEFAULT_WORKERS,
    add_queue_workers,
    queue_worker_options,
)
from bassi_ci.generators.saved_options import OPTIONS_FILE, load_options, options_path, save_options, updated
from bassi_ci.tasks.lookup import TaskFolder, load_folder
from bassi_ci.tasks.model import Task
from bassi_ci.tasks.templating import check_task_templates

TARGETS = ("github", "gitlab", "jenkins", "kubernetes")
# The options each target takes, by their command-line names, and their defaults.
DEFAULTS: dict[str, dict[str, str]] = {
    "github": {"action": DEFAULT_ACTION},
    "gitlab": {
        "install-command": DEFAULT_INSTALL,
        "gitlab-image": DEFAULT_IMAGE,
        "gitlab-ref": GitlabOptions.ref,
    },
    "jenkins": {"install-command": JENKINS_INSTALL},
    "kubernetes": {
        "image": KUBERNETES_IMAGE,
        "namespace": "",
        "queue-workers": DEFAULT_WORKERS,
        "queue-schedule": DEFAULT_QUEUE_SCHEDULE,
    },
}
# Options that mean nothing to the other targets, where they are refused rather than ignored: a
# user who asks for queue workers on GitHub would otherwise believe to have them.
KUBERNETES_ONLY = ("queue-workers", "queue-schedule")


@dataclass(frozen=True)
class GenerateOptions:
    target: str = "github"
    given: Mapping[str, str] = field(default_factory=dict)  # options on the command line, by name


@dataclass
class GenerateResult:
    plan: Plan
    notes: list[str] = field(default_factory=list)
    options_file: str | None = None  # set when the generate changed the stored options


def render(tasks: list[Task], tasks_dir: str, target: str, settings: Mapping[str, str], root: Path) -> Rendering:
    """The files of `target`; `settings` holds every option of the target (see DEFAULTS)."""
    sources = {task.id: _task_file_reference(task.source, root) for task in tasks if task.source is not None}
    if target == "github":
        return render_github(tasks, GithubOptions(tasks_dir=tasks_dir, action=settings["action"]), sources)
    if target == "gitlab":
        options = GitlabOptions(settings["install-command"], settings["gitlab-image"] or None, settings["gitlab-ref"])
        return render_gitlab(tasks, options, tasks_dir, sources)
    if target == "kubernetes":
        kubernetes = KubernetesOptions(settings["image"], settings["namespace"])
        queue = queue_worker_options(settings["queue-workers"], settings["queue-schedule"])
        return add_queue_workers(render_kubernetes(tasks, kubernetes, sources), tasks, kubernetes, queue)
    return render_jenkins(tasks, JenkinsOptions(install_command=settings["install-command"]), sources)


def generate(folder: TaskFolder, out: Path, options: GenerateOptions, check: bool = False) -> GenerateResult:
    """Render every task of `folder` and bring `out` up to date (or only compare, with check=True)."""
    target = options.target
    if target not in TARGETS:
        raise GenerateError(f"unknown target '{target}'; expected one of {', '.join(TARGETS)}")
    _refuse_options_of_other_targets(target, options.given)
    _refuse_the_options_folder(folder, out)
    tasks = load_folder(folder)
    for task in tasks:
        _refuse_machine_local_workdir(task)
        # A CI job cannot pass --var: every variable must be a built-in or in `vars:`.
        check_task_templates(task, str(task.source or task.id), hint="'vars: {{{name}: VALUE}}' in the task file")
    stored = load_options(out, DEFAULTS)
    given = {name: value for name, value in options.given.items() if name in DEFAULTS[target]}
    _refuse_undecodable_options(given)
    settings = {**DEFAULTS[target], **stored.get(target, {}), **given}
    rendering = render(tasks, _reference(folder.path, out), target, settings, out)
    _refuse_undecodable(rendering)
    plan = make_plan(out, rendering)
    result = GenerateResult(plan=plan, notes=list(rendering.notes))
    if not check:
        apply_plan(out, plan)
        if save_options(out, updated(stored, target, given, DEFAULTS[target])):
            result.options_file = OPTIONS_FILE
    return result


def _refuse_options_of_other_targets(target: str, given: Mapping[str, str]) -> None:
    for name in KUBERNETES_ONLY:
        if name in given and target != "kubernetes":
            raise GenerateError(
                f"--{name}: only with --target kubernetes (queue workers as Kubernetes Jobs); for GitHub "
                "Actions workers copy workflow-templates/bassi-queue-workers.yml into .github/workflows/"
            )


def _refuse_the_options_folder(folder: TaskFolder, out: Path) -> None:
    """A tasks folder holds task files only: the options file would be read as a broken task."""
    if folder.path.resolve() == options_path(out).parent.resolve():
        raise GenerateError(
            f"{folder.path}: this folder holds {OPTIONS_FILE}, not only task files; "
            "put the tasks in .bassi/tasks/ and pass that folder"
        )


def _refuse_machine_local_workdir(task: Task) -> None:
    """An absolute (or home-relative) `workdir` names a folder of this machine, not of the runner's checkout."""
    workdir = task.workdir
    if workdir is not None and (Path(workdir).is_absolute() or workdir.startswith("~")):
        raise GenerateError(
            f"{task.source or task.id}: workdir '{workdir}' is a folder of this machine, which a CI runner "
            "does not have; make it relative to the repository root (or remove it)"
        )


def _task_file_reference(path: Path, root: Path) -> str:
    """How the generated files name a task file: it must lie in the repository the runner checks out."""
    if not _inside(path, root):
        raise GenerateError(
            f"{path}: this task file is outside the repository {root} (--out), so a CI runner cannot find it; "
            "put the task under the repository, e.g. in .bassi/tasks/, and generate from there"
        )
    return _reference(path, root)


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


def _refuse_undecodable_options(given: Mapping[str, str]) -> None:
    """An option given as bytes that are not UTF-8 can go neither into CI files nor into the options file."""
    for name, value in given.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise GenerateError(f"--{name}: not valid UTF-8 text; nothing was written") from None


def _refuse_undecodable(rendering: Rendering) -> None:
    """Text that is not UTF-8 in a rendering (a check behind the ones on names and options)."""
    for file in rendering.files:
        try:
            file.text.encode("utf-8")
        except UnicodeEncodeError:
            raise GenerateError(f"{file.path}: an option given is not valid UTF-8 text; nothing was written") from None


def _relative(path: Path, root: Path) -> str:
    """`path` relative to the output root (the repository), in POSIX form, as workflows name it."""
    if not _inside(path, root):
        return path.as_posix()
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def _inside(path: Path, root: Path) -> bool:
    """Whether `path` (its target, for a symbolic link) lies in `root`, the repository."""
    return path.resolve().is_relative_to(root.resolve())
