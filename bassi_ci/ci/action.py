"""The logic of the `bassi run` GitHub Action (action.yml), kept in Python, not in YAML.

action.yml hands every input over as an environment variable BASSI_INPUT_<NAME>
(never as `${{ inputs.x }}` inside a script); this module turns them into a
`bassi execute --ci` command line, commits results back when asked, and writes
the step outputs. On events a stranger can trigger, the actor gate (actorgate) decides first
whether the agent may run at all. The workflow's token arrives as BASSI_GITHUB_TOKEN and is
used for the gate's permission check and commit-back only: the agent's environment never
gets it (nor any BASSI_INPUT_*), the generated workflows check out with
`persist-credentials: false` so it is not in .git/config either, and commit-back hands it
to `git push`/`git fetch` alone, as an environment-only http.extraheader
(commit.push_config_env). Commit-back refuses when the repository's git configuration
changed during the run (gitstate), and the step fails when the runner's file-command files
did (runnerfiles).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bassi_ci.agent.tools.containment import become_subreaper, kill_adopted
from bassi_ci.ci.actorgate import Allowed, check_actor
from bassi_ci.ci.commit import commit_back
from bassi_ci.ci.gitstate import GitState, git_state, worktree_of
from bassi_ci.ci.request import (
    DEFAULT_SERVER_URL,
    build_commit_request,
    commit_paths,
    discarded_note,
    keeps_failed_work,
)
from bassi_ci.ci.runnerfiles import RunnerFiles, RunnerFilesChanged, look
from bassi_ci.envnames import RUNNER_FILE_COMMANDS, RUNNER_TOKENS
from bassi_ci.errors import BassiError, ExitCode, Forbidden, RunFailed, UsageError, as_bassi_error
from bassi_ci.runs import notify
from bassi_ci.runs.ci import annotation
from bassi_ci.runs.executor import record_failure
from bassi_ci.runs.redact import Redactor
from bassi_ci.runs.result import build_result
from bassi_ci.tasks.lookup import TaskFolder, find_in_folder
from bassi_ci.tasks.model import Task
from bassi_ci.tasks.output_schema import OutputSchemaError, check_output_schema, load_output_schema_file

INPUT_PREFIX = "BASSI_INPUT_"
MAX_SUMMARY_BYTES = 1024 * 1024  # GitHub's own limit for one step's summary
GITHUB_TOKEN_VAR = "BASSI_GITHUB_TOKEN"


@dataclass(frozen=True)
class ActionInputs:
    prompt: str = ""
    task: str = ""
    tasks_dir: str = ".bassi/tasks"
    api_key: str = ""
    model: str = ""
    max_turns: str = ""
    timeout_minutes: str = ""
    max_budget_usd: str = ""
    allowed_tools: str = ""
    mcp_config: str = ""  # a .mcp.json, relative to working_directory (bassi execute runs there)
    output_schema: str = ""  # inline JSON text
    output_schema_file: str = ""  # relative to working_directory
    vars: dict[str, str] = field(default_factory=dict)
    working_directory: str = "."
    commit: bool = False
    commit_paths: tuple[str, ...] = ()
    commit_message: str = ""
    branch: str = ""
    create_pull_request: bool = False
    notify_url: str = ""
    notify_format: str = "slack"
    notify_when: tuple[str, ...] = ("failure",)
    replay: str = ""
    allowed: Allowed = field(default_factory=Allowed)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ActionInputs:
        def get(name: str, default: str = "") -> str:
            return environ.get(INPUT_PREFIX + name, "").strip() or default

        return cls(
            prompt=environ.get(INPUT_PREFIX + "PROMPT", ""),
            task=get("TASK"),
            tasks_dir=get("TASKS_DIR", ".bassi/tasks"),
            api_key=get("ANTHROPIC_API_KEY"),
            model=get("MODEL"),
            max_turns=get("MAX_TURNS"),
            timeout_minutes=get("TIMEOUT_MINUTES"),
            max_budget_usd=get("MAX_BUDGET_USD"),
            allowed_tools=get("ALLOWED_TOOLS"),
            mcp_config=get("MCP_CONFIG"),
            output_schema=get("OUTPUT_SCHEMA"),
            output_schema_file=get("OUTPUT_SCHEMA_FILE"),
            vars=parse_var_lines(environ.get(INPUT_PREFIX + "VARS", "")),
            working_directory=get("WORKING_DIRECTORY", "."),
            commit=_flag(get("COMMIT"), "commit"),
            commit_paths=tuple(_lines(environ.get(INPUT_PREFIX + "COMMIT_PATHS", ""))),
            commit_message=get("COMMIT_MESSAGE"),
            branch=get("BRANCH"),
            create_pull_request=_flag(get("CREATE_PULL_REQUEST"), "create-pull-request"),
            notify_url=get("NOTIFY_URL"),
            notify_format=notify.parse_format(get("NOTIFY_FORMAT", "slack"), "notify-format"),
            notify_when=notify.parse_when(get("NOTIFY_WHEN"), "notify-when"),
            replay=get("REPLAY"),
            allowed=Allowed.parse(get("ALLOWED_USERS"), get("ALLOWED_BOTS")),
        )


@dataclass
class ActionOutcome:
    exit_code: int
    result: dict[str, Any]
    result_file: Path
    commit_sha: str = ""
    pull_request_url: str = ""
    work_branch: str = ""  # the side branch a failed run's work was pushed to (commit.on_failure: branch)
    notes: list[str] = field(default_factory=list)
    annotated: bool = False  # an ::error:: for this failure was printed already

    def outputs(self) -> dict[str, str]:
        usage = self.result.get("usage") or {}
        return {
            "status": str(self.result.get("status", "")),
            "exit-code": str(self.exit_code),
            "result": str(self.result.get("result") or ""),
            "result-file": str(self.result_file),
            "cost-usd": str(self.result.get("total_cost_usd", "")),
            "input-tokens": str(usage.get("input_tokens", "")),
            "output-tokens": str(usage.get("output_tokens", "")),
            "num-turns": str(self.result.get("num_turns", "")),
            # Always JSON text (`null` without a structured output), so `fromJSON` never fails on it.
            "structured-output": json.dumps(self.result.get("structured_output"), ensure_ascii=False),
            "commit-sha": self.commit_sha,
            "pull-request-url": self.pull_request_url,
            "work-branch": self.work_branch,
        }


def parse_var_lines(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in _lines(text):
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"vars: {line!r} is not KEY=VALUE (one per line)")
        values[key.strip()] = value
    return values


def execute_argv(inputs: ActionInputs, task_file: Path | None, output_schema: Path | None = None) -> list[str]:
    """The `bassi execute --ci` command line; every value is one argv item, never shell text.
    `output_schema`: the file output_schema_file() wrote."""
    argv = [sys.executable, "-m", "bassi_ci", "execute"]
    if task_file is not None:
        argv.append(str(task_file))
    if inputs.prompt:
        argv += ["--prompt", inputs.prompt]
    argv.append("--ci")
    for key, value in inputs.vars.items():
        argv += ["--var", f"{key}={value}"]
    options = {
        "--model": inputs.model,
        "--max-turns": inputs.max_turns,
        "--max-budget": inputs.max_budget_usd,
        "--timeout": f"{inputs.timeout_minutes}m" if inputs.timeout_minutes else "",
        "--replay": inputs.replay,
        "--tools": inputs.allowed_tools,
        "--mcp-config": inputs.mcp_config,
        "--output-schema": str(output_schema) if output_schema is not None else "",
    }
    for flag, value in options.items():
        if value:
            argv += [flag, value]
    return argv


def run_action(environ: Mapping[str, str]) -> ActionOutcome:
    """Run the task or prompt, commit back when asked; never raises.

    Every failure, bad inputs included, still ends with a schema-valid result file, the
    documented exit code and an `::error::` annotation, so the step outputs are always set.
    """
    result_file = _result_path(environ)
    try:
        outcome = _run(environ, result_file)
    except Forbidden as refusal:
        outcome = failure_outcome(refusal, result_file, environ)
        _summarize(environ, f"**bassi: the agent did not run** (status `forbidden`, exit code 9): {refusal}")
    except Exception as ending:  # a defect too must still leave outputs behind for the workflow
        outcome = failure_outcome(as_bassi_error(ending), result_file, environ)
    already_said = outcome.annotated or any(note.startswith("::error") for note in outcome.notes)
    if outcome.exit_code != ExitCode.SUCCESS and not already_said:
        error = outcome.result.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else None
        outcome.notes.append(
            annotation("error", "bassi", f"status {outcome.result.get('status')}: {message or 'the run failed'}")
        )
    return outcome


def _run(environ: Mapping[str, str], result_file: Path) -> ActionOutcome:
    inputs = ActionInputs.from_env(environ)
    # Before anything else reads the repository or calls the API: see actorgate.
    admitted = check_actor(environ, inputs.allowed, environ.get(GITHUB_TOKEN_VAR, "").strip())
    if admitted:
        _summarize(environ, admitted)
    workdir = Path(inputs.working_directory)
    if not workdir.is_dir():
        raise UsageError(f"working-directory: {inputs.working_directory!r} is not a folder")
    task: Task | None = None
    if not inputs.task and not inputs.prompt:
        raise UsageError("give the action a 'task' or a 'prompt'")
    if inputs.task:
        # Errors name the folder as the user set it: the action's input, never another command's flag.
        folder = TaskFolder(workdir / inputs.tasks_dir, named_by="the action's tasks-dir input")
        task = find_in_folder(inputs.task, folder)
    schema = action_output_schema(inputs, workdir)
    git_before = _git_state_of(workdir) if inputs.commit else None
    runner_files = RunnerFiles.snapshot(environ)
    # Processes of the agent's that outlived `bassi execute` (say it was killed with their
    # supervisors) are adopted here and stopped before the runner's files are checked.
    become_subreaper()
    with _private_summary(environ) as summary, output_schema_file(schema, environ) as schema_file:
        argv = execute_argv(inputs, task.source.resolve() if task and task.source else None, schema_file)
        env = {**agent_env(environ, inputs), **({"GITHUB_STEP_SUMMARY": str(summary)} if summary else {})}
        with result_file.open("w", encoding="utf-8") as handle:
            proc = subprocess.run(argv, cwd=workdir, stdout=handle, env=env, check=False)
        kill_adopted()
        outcome = _read_outcome(result_file, proc.returncode, environ)
        # On GitHub, `bassi execute` annotates its own failures; a second annotation would repeat it.
        outcome.annotated = environ.get("GITHUB_ACTIONS") == "true" and proc.returncode != ExitCode.SUCCESS
        changed = runner_files.restore_changed()
        if summary is not None:
            _append(Path(environ["GITHUB_STEP_SUMMARY"]), look(summary, MAX_SUMMARY_BYTES).head)
    if changed:
        problem = RunnerFilesChanged(
            f"the agent changed the runner's file-command files ({', '.join(changed)}); they were put back "
            "as they were before the run, and nothing is committed"
        )
        _fail(outcome, problem, environ, "bassi")
    elif inputs.commit:
        _commit(inputs, task, workdir, outcome, environ, git_before)
    return outcome


def action_output_schema(inputs: ActionInputs, workdir: Path) -> dict[str, Any] | None:
    """The schema of the `output-schema` or `output-schema-file` input, checked (errors name the input)."""
    if inputs.output_schema and inputs.output_schema_file:
        raise UsageError("output-schema and output-schema-file: give one of them, not both")
    try:
        if inputs.output_schema_file:
            return load_output_schema_file(workdir / inputs.output_schema_file)
        if not inputs.output_schema:
            return None
        try:
            schema = json.loads(inputs.output_schema)
        except (ValueError, RecursionError) as problem:
            raise OutputSchemaError(f"not valid JSON ({str(problem).splitlines()[0]})") from None
        return check_output_schema(schema)
    except OutputSchemaError as problem:
        name = "output-schema-file" if inputs.output_schema_file else "output-schema"
        raise OutputSchemaError(f"{name}: {problem}") from None


@contextlib.contextmanager
def output_schema_file(schema: dict[str, Any] | None, environ: Mapping[str, str]) -> Iterator[Path | None]:
    """The checked schema in a file of the run's own for `execute --output-schema`, removed afterwards."""
    if schema is None:
        yield None
        return
    with tempfile.TemporaryDirectory(dir=environ.get("RUNNER_TEMP") or None, prefix="bassi-schema-") as folder:
        path = Path(folder, "output-schema.json")
        path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
        yield path


@contextlib.contextmanager
def _private_summary(environ: Mapping[str, str]) -> Iterator[Path | None]:
    """A step-summary file of the run's own, copied into the real one afterwards: the runner's
    file-command files must not change while the agent runs (see runnerfiles)."""
    if not environ.get("GITHUB_STEP_SUMMARY", "").strip():
        yield None
        return
    with tempfile.TemporaryDirectory(dir=environ.get("RUNNER_TEMP") or None, prefix="bassi-summary-") as folder:
        path = Path(folder, "summary.md")
        path.touch()
        yield path


def _summarize(environ: Mapping[str, str], line: str) -> None:
    """One line of the action's own in the step summary (redacted like every other output)."""
    if environ.get("GITHUB_STEP_SUMMARY", "").strip():
        text = Redactor.from_environ(environ).text(line)
        _append(Path(environ["GITHUB_STEP_SUMMARY"]), f"\n{text}\n".encode())


def _append(path: Path, data: bytes) -> None:
    """Append to the runner's file (never through a link the agent may have left in its place)."""
    if not data or look(path, 0).kind != "file":
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "ab") as handle:
        handle.write(data)


def _git_state_of(workdir: Path) -> GitState | None:
    """The git state of the repository `workdir` lies in (None outside one: commit-back says so)."""
    root = worktree_of(workdir)
    return git_state(root) if root is not None else None


def agent_env(environ: Mapping[str, str], inputs: ActionInputs) -> dict[str, str]:
    """The environment of `bassi execute` (and so of the agent's bash): no inputs, no workflow token,
    none of the runner's file commands or tokens (see runnerfiles).

    The API key reaches it only as ANTHROPIC_API_KEY, the notify-url only as BASSI_NOTIFY_URL
    (both hidden from the agent's commands and redacted: bassi_ci.envnames.ALWAYS_SECRET). A
    token the user put on the step's `env:` (GH_TOKEN, …) is theirs to hand to the agent and
    is left alone.
    """
    hidden = {GITHUB_TOKEN_VAR, *RUNNER_FILE_COMMANDS, *RUNNER_TOKENS}
    env = {key: value for key, value in environ.items() if not key.startswith(INPUT_PREFIX) and key not in hidden}
    if inputs.api_key:
        env["ANTHROPIC_API_KEY"] = inputs.api_key
    if inputs.notify_url:  # in the environment, never on a command line (process listings show those)
        env[notify.URL_ENV] = inputs.notify_url
        env[notify.FORMAT_ENV] = inputs.notify_format
        env[notify.WHEN_ENV] = ",".join(inputs.notify_when)
    return env


def failure_outcome(problem: BassiError, result_file: Path, environ: Mapping[str, str]) -> ActionOutcome:
    """A run that failed outside `bassi execute`: a result document written like execute's own."""
    redactor = Redactor.from_environ(environ)
    result = redactor.data(build_result(record_failure(None, None, problem, redactor)))
    result_file.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    note = annotation("error", "bassi", redactor.text(str(problem)))
    return ActionOutcome(exit_code=int(problem.exit_code), result=result, result_file=result_file, notes=[note])


def _commit(
    inputs: ActionInputs,
    task: Task | None,
    workdir: Path,
    outcome: ActionOutcome,
    environ: Mapping[str, str],
    git_before: GitState | None,
) -> None:
    status = str(outcome.result.get("status"))
    failed_run = outcome.exit_code != ExitCode.SUCCESS
    if failed_run and not keeps_failed_work(task, status):
        outcome.notes.append(discarded_note(status))
        return
    try:
        paths = commit_paths(
            task,
            inputs.commit_paths,
            missing="commit is true but no commit-paths are given (and the task has no 'commit.paths')",
        )
        run_id = str(outcome.result.get("run_id") or "run")
        task_id = task.id if task else str(outcome.result.get("task_id") or "prompt")
        request = build_commit_request(
            task,
            repo=workdir,
            paths=paths,
            message=inputs.commit_message,
            branch=inputs.branch,
            pull_request=inputs.create_pull_request,
            task_id=task_id,
            run_id=run_id,
            cli_vars=inputs.vars,
            run_result=outcome.result,
            keep_failed_work=failed_run,
            environ=environ,
            push_token=environ.get(GITHUB_TOKEN_VAR, ""),
            server_url=environ.get("GITHUB_SERVER_URL", "").strip() or DEFAULT_SERVER_URL,
            git_state=git_before,
        )
        done = commit_back(request)
    except Exception as failure:  # a defect in commit-back must not replace the run's own result
        if failed_run:  # the run's own failure stays the step's result; say the work was not kept
            message = Redactor.from_environ(environ).text(str(failure))
            outcome.notes.append(annotation("error", "bassi commit-back", f"the run's work was not kept: {message}"))
            return
        _fail(outcome, as_bassi_error(failure), environ, "bassi commit-back")
        return
    outcome.commit_sha, outcome.pull_request_url = done.sha, done.pull_request_url
    outcome.work_branch = done.work_branch
    outcome.notes.append(done.note)


def _fail(outcome: ActionOutcome, problem: BassiError, environ: Mapping[str, str], title: str) -> None:
    """A run that succeeded but whose step fails after it: outputs and the result file say so."""
    message = Redactor.from_environ(environ).text(str(problem))
    outcome.exit_code = int(problem.exit_code)
    error = {"type": problem.type_name, "message": message, "retryable": problem.retryable}
    outcome.result = {
        **outcome.result,
        "status": problem.status,
        "exit_code": outcome.exit_code,
        "is_error": True,
        "error": error,
    }
    with contextlib.suppress(OSError):
        outcome.result_file.write_text(json.dumps(outcome.result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    outcome.notes.append(annotation("error", title, message))


def github_output_text(outputs: Mapping[str, str]) -> str:
    """$GITHUB_OUTPUT lines; every value uses the heredoc form with a random delimiter."""
    chunks = []
    for name, value in outputs.items():
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(chunks)


def _result_path(environ: Mapping[str, str]) -> Path:
    folder = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix="bassi-result-", suffix=".json")
    os.close(fd)
    return Path(name)


class NoResult(RunFailed):
    """`bassi execute` ended without printing its JSON result (it crashed or was killed)."""


def _read_outcome(path: Path, code: int, environ: Mapping[str, str]) -> ActionOutcome:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if isinstance(data, dict):
        return ActionOutcome(exit_code=code, result=data, result_file=path)
    problem = NoResult(f"bassi execute ended with exit code {code} and printed no JSON result")
    known = ExitCode.known(code)
    if known is not None and known is not ExitCode.SUCCESS:
        problem.exit_code = known
    return failure_outcome(problem, path, environ)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _flag(value: str, name: str) -> bool:
    if value.lower() in ("", "false", "0", "no"):
        return False
    if value.lower() in ("true", "1", "yes"):
        return True
    raise UsageError(f"{name}: expected true or false, got {value!r}")
