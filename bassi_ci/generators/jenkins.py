"""Jenkins: one declarative pipeline per task, `jenkins/bassi-<id>.Jenkinsfile`.

The task's exact minute is kept when it has one; only interval schedules
(`hourly`, `every N m/h`) use Jenkins' `H` hash, which spreads such jobs over the
hour instead of starting them all at minute 0. Every value put into Groovy is a
single-quoted string literal, so nothing in it is interpolated.

Jenkins runs every `sh` step in a shell of its own, so a PATH change or an activated virtual
environment is gone by the next step, and `pip install` is refused on PEP 668 system Pythons. The
install step (`--install-command`) therefore must leave an executable `.bassi-venv/bin/bassi` in the
workspace (by default: a venv there, and pip inside it), and every later step calls bassi by that
path. The step after it fails early when it is missing, and makes git ignore the venv, so
commit-back never takes it in.

The run names its task file by path. A task with `commit:` notes the repository's git
state before the run and gets a "commit back" stage after it that pushes with the
username/password credential `bassi-git-push`, bound only around that one step, and handed by
`bassi ci commit` to git push/fetch alone. That stage runs after a failed run too (with
`commit.on_failure: branch` the work goes to bassi/<task_id>/<run_id>): the run step keeps its
exit code in a file (a shell variable would not reach the next `sh` step) and succeeds; the
commit step ends with that code, so the build still fails as the run did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bassi_ci.generators.common import (
    COMMIT_RC,
    EXIT_AS_THE_RUN,
    GIT_STATE_VAR,
    JUNIT_FILE,
    PUSH_TOKEN_VAR,
    RESULT_FILE,
    RUN_RC,
    check_commit_supported,
    commit_command,
    execute_command,
    git_state_command,
    job_timeout_minutes,
    keeping_exit_code,
)
from bassi_ci.generators.cron import CronSpec, task_cron
from bassi_ci.generators.files import UNSAFE_CHARS, GeneratedFile, Rendering, marker_line
from bassi_ci.tasks.model import Task

JENKINS_DIR = "jenkins"
INTERVAL_KINDS = ("interval", "hourly")
PUSH_USER_VAR = "BASSI_PUSH_USER"
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
VENV_DIR = ".bassi-venv"  # in the workspace; each build reuses it
BASSI_PATH = f"{VENV_DIR}/bin/bassi"
DEFAULT_INSTALL = f"python3 -m venv {VENV_DIR} && {VENV_DIR}/bin/pip install bassi-ci"
# A missing bassi fails here, named in the log, not in the middle of the run; the venv ignores
# itself (as `python3.13 -m venv` and `uv venv` do), so `git status` and commit-back never see it.
VENV_READY = f"{BASSI_PATH} --version && echo '*' > {VENV_DIR}/.gitignore"
# The run's exit code, from the run step to the commit step; in the venv, which git ignores.
RUN_RC_FILE = f"{VENV_DIR}/run-exit-code"


@dataclass(frozen=True)
class JenkinsOptions:
    install_command: str = DEFAULT_INSTALL  # must leave an executable BASSI_PATH
    credentials_id: str = "anthropic-api-key"
    push_credentials_id: str = "bassi-git-push"  # Username with password (token) that may push


def jenkinsfile_path(task_id: str) -> str:
    return f"{JENKINS_DIR}/bassi-{task_id}.Jenkinsfile"


def render_jenkins(tasks: list[Task], options: JenkinsOptions, sources: dict[str, str]) -> Rendering:
    files = tuple(
        GeneratedFile(jenkinsfile_path(task.id), render_jenkinsfile(task, options, sources.get(task.id, task.id)))
        for task in tasks
    )
    return Rendering(files=files, owned_globs=(f"{JENKINS_DIR}/bassi-*.Jenkinsfile",))


# In a single-quoted Groovy literal: the quote and the backslash, and every UNSAFE_CHARS.
_GROOVY_ESCAPED_RE = re.compile(f"['\\\\{UNSAFE_CHARS}]")
_GROOVY_ESCAPES = {"'": "\\'", "\\": "\\\\", "\n": "\\n", "\r": "\\r"}


def groovy_string(text: str) -> str:
    """A single-quoted Groovy literal: no `$` interpolation; quote, backslash and every UNSAFE_CHARS escaped.

    Newline and carriage return get their own escapes; the other unsafe characters (U+2028, NEL,
    \\v, ...) a `\\uXXXX` escape. Groovy 2 (still in Jenkins) turns `\\uXXXX` into the character
    before it reads the code, so that form is never used for a newline, a quote or a backslash.
    """
    return "'" + _GROOVY_ESCAPED_RE.sub(_groovy_escape, text) + "'"


def _groovy_escape(match: re.Match[str]) -> str:
    char = match.group()
    return _GROOVY_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def jenkins_cron(cron: CronSpec) -> str:
    """Cron spec with the TZ line; interval schedules get `H` for the minute; month and weekday
    names as numbers (Jenkins refuses `JAN` and `MON`)."""
    fields = cron.expression.split()
    minute = fields[0]
    if cron.kind in INTERVAL_KINDS and minute != "*":
        fields[0] = "H/" + minute[2:] if minute.startswith("*/") else "H"
    if len(fields) == 5:
        fields[3] = _numbered(fields[3], MONTHS, first=1)
        fields[4] = _numbered(fields[4], WEEKDAYS, first=0)
    return f"TZ={cron.timezone}\n" + " ".join(fields)


def _numbered(field: str, names: tuple[str, ...], first: int) -> str:
    """`JAN,JUL` → `1,7`, `MON-FRI` → `1-5`: each name (any case) by its number."""
    return re.sub(r"[A-Za-z]{3}", lambda match: str(names.index(match.group().upper()) + first), field)


def render_jenkinsfile(task: Task, options: JenkinsOptions, source: str) -> str:
    cron = task_cron(task)
    timeout = job_timeout_minutes(task)
    task_file = source if task.source is not None else task.id
    run = execute_command(task_file, BASSI_PATH)
    if task.commit is not None:
        run = keeping_exit_code(run, RUN_RC) + f'; echo "${RUN_RC}" > {RUN_RC_FILE}'
    lines = [
        marker_line("//", source),
        "pipeline {",
        "    agent any",
        "    options {",
        "        disableConcurrentBuilds()",
        f"        timeout(time: {timeout}, unit: 'MINUTES')",
        "    }",
    ]
    if cron is not None:
        lines += ["    triggers {", f"        cron({groovy_string(jenkins_cron(cron))})", "    }"]
    elif task.schedule is not None:
        lines.append(f"    // Task '{task.id}' is paused: no trigger, run it by hand.")
    lines += [
        "    environment {",
        f"        ANTHROPIC_API_KEY = credentials({groovy_string(options.credentials_id)})",
        "    }",
        "    stages {",
        f"        stage({groovy_string('bassi ' + task.id)}) {{",
        "            steps {",
        f"                // Each sh step is a new shell: bassi is installed into {VENV_DIR} and called by path.",
        f"                sh {groovy_string(options.install_command)}",
        f"                sh {groovy_string(VENV_READY)}",
        *git_state_step(task),
        f"                sh {groovy_string(run)}",
        "            }",
        "        }",
        *commit_stage(task, options, task_file),
        "    }",
        "    post {",
        "        always {",
        f"            archiveArtifacts artifacts: '{RESULT_FILE}, {JUNIT_FILE}', allowEmptyArchive: true",
        f"            junit allowEmptyResults: true, testResults: '{JUNIT_FILE}'",
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def git_state_step(task: Task) -> list[str]:
    """Before the run of a task with `commit:`: the repository's git state, kept by Jenkins (each
    `sh` step is a shell of its own) where the agent cannot change it."""
    if task.commit is None:
        return []
    command = groovy_string(git_state_command(BASSI_PATH))
    return [
        "                script {",
        f"                    env.{GIT_STATE_VAR} = sh(script: {command}, returnStdout: true).trim()",
        "                }",
    ]


def commit_stage(task: Task, options: JenkinsOptions, task_file: str) -> list[str]:
    """The "commit back" stage of a task with `commit:`; none otherwise."""
    if task.commit is None:
        return []
    check_commit_supported(task, "jenkins")
    command = commit_command(task_file, f"--push-user-env {PUSH_USER_VAR}", BASSI_PATH)
    if task.commit.branch is None:
        # Jenkins checks out a detached HEAD; GIT_BRANCH is 'origin/main' (or 'main' in multibranch jobs).
        command += ' --branch "${GIT_BRANCH#origin/}"'
    credentials = groovy_string(options.push_credentials_id)
    binding = (
        f"usernamePassword(credentialsId: {credentials}, usernameVariable: '{PUSH_USER_VAR}', "
        f"passwordVariable: '{PUSH_TOKEN_VAR}')"
    )
    script = f'{RUN_RC}="$(cat {RUN_RC_FILE})"; {keeping_exit_code(command, COMMIT_RC)}; {EXIT_AS_THE_RUN}'
    return [
        "        stage('commit back') {",
        "            steps {",
        f"                // Needs a 'Username with password' credential {credentials} (a token that may push)",
        "                // for an https remote; for an ssh remote use sshagent([...]) and drop the --push-* options.",
        "                // Runs after a failed run too (on_failure: branch keeps its work), then exits with its code.",
        f"                withCredentials([{binding}]) {{",
        f"                    sh {groovy_string(script)}",
        "                }",
        "            }",
        "        }",
    ]
