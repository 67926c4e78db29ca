"""Line breaks other than "\\n" in what reaches a generated file (issue #7, item 6).

A task file named `x<U+2028>env: {GH_TOKEN: ...}<U+2028>#.yaml` put that `env:` key at the top
level of the workflow for YAML 1.1 readers (libyaml, PyYAML, GitHub), which end a line at NEL,
U+2028 and U+2029, while YAML 1.2 readers (actionlint) and Groovy do not. For every target and
every such character, in a task file's name, in the tasks folder's name and in the options, the
generated file must

- hold no raw character that any reader could take as a line break, except "\\n" itself;
- read, with libyaml (CSafeLoader) and pure PyYAML (SafeLoader), as exactly the expected keys,
  with no injected key anywhere, and give back the real path, so the job finds its task file;
- (GitHub) pass actionlint; (Jenkins) have the same code outside string literals and comments as
  for a plain file name, and string literals that, decoded, are shell commands naming the real
  path (replayed with /bin/sh and a stub `bassi`); npm-groovy-lint parses such files in
  tests/generators/test_groovy_lint.py (one slow run for many files);
- be what `--check` expects.

Everything runs through `bassi ci generate` (tests.cli.run_cli).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bassi_ci.generators.jenkins import VENV_DIR
from bassi_ci.tasks.lookup import TaskFolder, find_in_folder
from tests.cli import run_cli
from tests.homes import home_variables
from tests.oracles import actionlint, requires

# Characters that some reader ends a line at: YAML 1.1 (NEL, LS, PS, CR, LF), Python's
# str.splitlines (also VT, FF, FS, GS, RS), Groovy and shells (CR, LF).
SEPARATORS = {
    "LS": "\u2028",
    "PS": "\u2029",
    "NEL": "\x85",
    "CR": "\r",
    "LF": "\n",
    "CRLF": "\r\n",
    "VT": "\x0b",
    "FF": "\x0c",
    "FS": "\x1c",
    "GS": "\x1d",
    "RS": "\x1e",
}
# No generated file holds any of these raw: the characters above and the other controls; "\n" ends lines.
RAW_BREAK_RE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
TARGETS = ("github", "gitlab", "jenkins")
TASK_ID = "t1"
INJECTED = ("env", "GH_TOKEN")


def payload(sep: str) -> str:
    """The issue's attack: a top-level `env:` key between two line breaks, the rest commented out."""
    return f"x{sep}env: {{GH_TOKEN: '${{{{ github.token }}}}'}}{sep}#"


def write_task(folder: Path, filename: str) -> Path:
    path = folder / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    task = {
        "id": TASK_ID,
        "prompt": "p",
        "schedule": "daily 09:00",
        "timezone": "UTC",
        "commit": {"paths": ["out.txt"], "branch": "main"},
    }
    path.write_text(yaml.safe_dump(task), encoding="utf-8")
    return path


def generate(repo: Path, tasks_dir: Path, target: str, *extra: str) -> tuple[int, str, str]:
    return run_cli("ci", "generate", "--target", target, "--tasks-dir", str(tasks_dir), "--out", str(repo), *extra)


GENERATED = {
    "github": f".github/workflows/bassi-{TASK_ID}.yml",
    "gitlab": ".gitlab/bassi.gitlab-ci.yml",
    "jenkins": f"jenkins/bassi-{TASK_ID}.Jenkinsfile",
}


def generated_file(repo: Path, target: str) -> Path:
    return repo / GENERATED[target]


def raw_text(path: Path) -> str:
    """The file as its readers get it: read_text() would turn a raw \\r into \\n and hide it."""
    return path.read_bytes().decode("utf-8")


def all_keys(data: Any) -> Iterator[Any]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from all_keys(value)
    elif isinstance(data, list):
        for item in data:
            yield from all_keys(item)


def read_yaml(text: str, target: str) -> list[Any]:
    """The file as libyaml and as pure PyYAML read it: the same, the expected keys, nothing injected."""
    expected = {"name", True, "concurrency", "permissions", "jobs"} if target == "github" else {f"bassi-{TASK_ID}"}
    readings = [yaml.load(text, Loader=loader) for loader in (yaml.CSafeLoader, yaml.SafeLoader)]
    for data in readings:
        assert set(data) == expected
        assert not set(all_keys(data)) & set(INJECTED)
    assert readings[0] == readings[1]
    return readings


def github_value(text: str) -> str:
    """An input as the action receives it: GitHub evaluates the `${{ 'literal' }}` expressions in it."""
    value = re.sub(r"\$\{\{ '((?:[^']|'')*)' \}\}", lambda m: m[1].replace("''", "'"), text)
    assert value.count("${{") == text.count("${{ '${{' }}"), f"an expression GitHub would evaluate: {text!r}"
    return value


# --- replaying the generated shell commands --------------------------------------------------------


def stub_bassi(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose `bassi` only records its arguments (read them with `recorded_calls`)."""
    bin_dir = tmp_path / "stub-bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "bassi-calls.jsonl"
    stub = bin_dir / "bassi"
    # Per call: the number of arguments, then each argument, all NUL-terminated (no text has a NUL).
    stub.write_text('#!/bin/sh\nprintf \'%s\\0\' "$#" "$@" >> "$BASSI_CALLS"\n')
    stub.chmod(0o755)
    env = {
        **home_variables(),  # a job's other commands still run with the test's home, not the real one
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "BASSI_CALLS": str(log),
        "BASSI_PUSH_TOKEN": "dummy",
        "CI_COMMIT_BRANCH": "main",
        "GIT_BRANCH": "origin/main",
    }
    return env, log


def replay(commands: list[str], repo: Path, tmp_path: Path) -> list[list[str]]:
    """Run each `bassi` command of a job with /bin/sh, in its own shell as Jenkins and GitLab do.

    The stub is `bassi` on PATH (GitLab) and the job's `.bassi-venv/bin/bassi` (Jenkins calls it by path)."""
    env, log = stub_bassi(tmp_path)
    log.unlink(missing_ok=True)
    venv_bin = repo / VENV_DIR / "bin"
    venv_bin.mkdir(parents=True, exist_ok=True)
    (venv_bin / "bassi").unlink(missing_ok=True)
    (venv_bin / "bassi").symlink_to(tmp_path / "stub-bin" / "bassi")
    for command in commands:
        if "bassi " in command:
            proc = subprocess.run(["/bin/sh", "-c", command], cwd=repo, env=env, capture_output=True, check=False)
            assert proc.returncode == 0, proc.stderr
    return recorded_calls(log)


def recorded_calls(log: Path) -> list[list[str]]:
    fields = log.read_bytes().decode("utf-8").split("\0")[:-1]  # no newline translation
    calls = []
    while fields:
        count = int(fields[0])
        calls.append(fields[1 : 1 + count])
        fields = fields[1 + count :]
    return calls


def assert_calls_name(calls: list[list[str]], task_file: str, repo: Path) -> None:
    """The run and commit-back each name the task file by its real path."""
    runs = [call for call in calls if call[:1] == ["execute"]]
    commits = [call for call in calls if call[:2] == ["ci", "commit"]]
    assert [call[1] for call in runs] == [task_file], calls
    assert [call[call.index("--task") + 1] for call in commits] == [task_file], calls
    assert (repo / task_file).is_file()


# --- reading a Jenkinsfile ------------------------------------------------------------------------

_GROOVY_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "\\": "\\", "'": "'", '"': '"', "$": "$"}


def groovy_tokens(text: str) -> tuple[str, list[str]]:
    """The code outside single-quoted literals and `//` comments (each shown as '' and //), and the literals."""
    code: list[str] = []
    literals: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "'":
            j = i + 1
            while text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            literals.append(text[i + 1 : j])
            code.append("''")
            i = j + 1
        elif text.startswith("//", i):
            code.append("//")
            i = text.index("\n", i)
        else:
            code.append(text[i])
            i += 1
    return "".join(code), literals


def groovy_value(body: str) -> str:
    """What Groovy makes of a single-quoted literal's body."""
    return re.sub(
        r"\\(u[0-9a-fA-F]{4}|.)",
        lambda m: chr(int(m[1][1:], 16)) if len(m[1]) == 5 else _GROOVY_ESCAPES[m[1]],
        body,
        flags=re.S,
    )


def sh_steps(text: str) -> list[str]:
    """The decoded commands of the Jenkinsfile's `sh '...'` steps."""
    return [groovy_value(m[1]) for m in re.finditer(r"\bsh '((?:[^'\\]|\\.)*)'", text, flags=re.S)]


# --- the checks every generated file gets ----------------------------------------------------------


def check_generated(repo: Path, tasks_dir: Path, task_path: Path, target: str, tmp_path: Path) -> None:
    path = generated_file(repo, target)
    text = raw_text(path)
    task_file = task_path.relative_to(repo).as_posix()
    if target == "github":
        inputs = read_yaml(text, target)[0]["jobs"]["run"]["steps"][1]["with"]
        assert inputs["task"] == TASK_ID
        assert github_value(inputs["tasks-dir"]) == tasks_dir.relative_to(repo).as_posix()
        # What the action does with these inputs: the task file is found again.
        folder = TaskFolder(repo / github_value(inputs["tasks-dir"]), "the tasks-dir input")
        assert find_in_folder(inputs["task"], folder).source == task_path
        actionlint(path)
    elif target == "gitlab":
        script = read_yaml(text, target)[0][f"bassi-{TASK_ID}"]["script"]
        assert_calls_name(replay(script, repo, tmp_path), task_file, repo)
    else:
        plain = tmp_path / "plain"
        write_task(plain / "tasks", "plain.yaml")
        assert generate(plain, plain / "tasks", target)[0] == 0
        groovy_code, _ = groovy_tokens(text)
        assert groovy_code == groovy_tokens(raw_text(generated_file(plain, target)))[0]
        assert "GH_TOKEN" not in groovy_code
        assert_calls_name(replay(sh_steps(text), repo, tmp_path), task_file, repo)
    # Whatever the readers above made of it, a reader that ends lines elsewhere would differ.
    assert not RAW_BREAK_RE.search(text), f"raw line-break character in {path.name}: {text!r}"
    # `--check` reads back exactly what was written, and still knows the file as generated.
    code, out, err = generate(repo, tasks_dir, target, "--check")
    assert code == 0 and "1 generated file(s) up to date" in out, out + err


@pytest.mark.parametrize("sep", SEPARATORS.values(), ids=SEPARATORS.keys())
@pytest.mark.parametrize("target", TARGETS)
def test_task_file_name_with_a_line_break_injects_nothing(tmp_path: Path, target: str, sep: str) -> None:
    repo = tmp_path / "repo"
    tasks_dir = repo / ".bassi" / "tasks"
    task_path = write_task(tasks_dir, payload(sep) + ".yaml")
    code, _, err = generate(repo, tasks_dir, target)
    assert code == 0, err
    check_generated(repo, tasks_dir, task_path, target, tmp_path)


@pytest.mark.parametrize("sep", SEPARATORS.values(), ids=SEPARATORS.keys())
@pytest.mark.parametrize("target", TARGETS)
def test_tasks_folder_name_with_a_line_break_injects_nothing(tmp_path: Path, target: str, sep: str) -> None:
    repo = tmp_path / "repo"
    tasks_dir = repo / payload(sep)
    task_path = write_task(tasks_dir, "task.yaml")
    code, _, err = generate(repo, tasks_dir, target)
    assert code == 0, err
    check_generated(repo, tasks_dir, task_path, target, tmp_path)


@pytest.mark.parametrize("sep", SEPARATORS.values(), ids=SEPARATORS.keys())
@pytest.mark.parametrize("target", TARGETS)
def test_options_with_a_line_break_inject_nothing(tmp_path: Path, target: str, sep: str) -> None:
    repo = tmp_path / "repo"
    tasks_dir = repo / ".bassi" / "tasks"
    write_task(tasks_dir, "task.yaml")
    text_option = "true " + payload(sep)
    options = {
        "github": ["--action", "bassi/run@v1" + payload(sep)],
        "gitlab": ["--install-command", text_option, "--gitlab-ref", "main" + payload(sep)],
        "jenkins": ["--install-command", text_option],
    }[target]
    code, _, err = generate(repo, tasks_dir, target, *options)
    assert code == 0, err
    text = raw_text(generated_file(repo, target))
    if target == "github":
        for data in read_yaml(text, target):
            assert data["jobs"]["run"]["steps"][1]["uses"] == options[1]
    elif target == "gitlab":
        for data in read_yaml(text, target):
            assert data[f"bassi-{TASK_ID}"]["script"][0] == text_option
    else:
        code_outside, _ = groovy_tokens(text)
        assert "GH_TOKEN" not in code_outside
        assert sh_steps(text)[0] == text_option
    assert not RAW_BREAK_RE.search(text), text
    assert generate(repo, tasks_dir, target, *options, "--check")[0] == 0


@pytest.mark.parametrize("sep", ["\u2028", "\u2029", "\x85"], ids=["LS", "PS", "NEL"])
def test_check_reports_a_workflow_with_the_injected_key_as_out_of_date(tmp_path: Path, sep: str) -> None:
    """The workflow bassi wrote before the fix (the name raw in its first line) is not "up to date"."""
    repo = tmp_path / "repo"
    tasks_dir = repo / ".bassi" / "tasks"
    write_task(tasks_dir, payload(sep) + ".yaml")
    assert generate(repo, tasks_dir, "github")[0] == 0
    path = generated_file(repo, "github")
    marker, body = raw_text(path).split("\n", 1)
    injected = marker.replace(payload("?"), payload(sep)) + "\n" + body
    assert "env" in yaml.load(injected, Loader=yaml.CSafeLoader)
    path.write_bytes(injected.encode("utf-8"))
    code, out, _ = generate(repo, tasks_dir, "github", "--check")
    assert code == 1 and f"{GENERATED['github']}: out of date" in out
    assert generate(repo, tasks_dir, "github")[0] == 0
    assert "env" not in yaml.load(raw_text(path), Loader=yaml.CSafeLoader)


@pytest.mark.parametrize("target", TARGETS)
def test_task_file_name_that_is_not_utf8_is_a_usage_error(tmp_path: Path, target: str) -> None:
    """Bytes that are no UTF-8 text cannot be named in a UTF-8 file so that the job finds them."""
    repo = tmp_path / "repo"
    tasks_dir = repo / ".bassi" / "tasks"
    written = write_task(tasks_dir, "task.yaml")
    os.rename(os.fsencode(written), os.fsencode(tasks_dir) + b"/bad\xff\xfe.yaml")
    code, out, err = generate(repo, tasks_dir, target)
    assert code == 2, out + err
    assert "bad\\xff\\xfe.yaml" in err and "not valid UTF-8" in err
    assert sorted(p.name for p in repo.iterdir()) == [".bassi"]


@pytest.mark.parametrize("sep", SEPARATORS.values(), ids=SEPARATORS.keys())
def test_task_name_with_a_line_break_is_refused(tmp_path: Path, sep: str) -> None:
    """A regression guard: the task schema refuses such names before any generator sees them."""
    repo = tmp_path / "repo"
    tasks_dir = repo / ".bassi" / "tasks"
    path = tasks_dir / "task.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump({"name": payload(sep), "prompt": "p"}), encoding="utf-8")
    for target in TARGETS:
        code, _, err = generate(repo, tasks_dir, target)
        assert code == 2 and str(path) in err and "field 'name'" in err
    assert sorted(p.name for p in repo.iterdir()) == [".bassi"]


@pytest.mark.slow
@requires("gitlab-ci-local", "rsync")
def test_gitlab_job_finds_a_task_file_named_with_u2028(tmp_path: Path) -> None:
    """gitlab-ci-local reads the file with a YAML 1.2 parser and runs the script in its shell executor."""
    tool = shutil.which("gitlab-ci-local")
    assert tool is not None
    repo = tmp_path / "repo"
    tasks_dir = repo / ".bassi" / "tasks"
    task_path = write_task(tasks_dir, payload("\u2028") + ".yaml")
    env, log = stub_bassi(tmp_path)
    install = f"export PATH={env['PATH'].split(os.pathsep)[0]}:$PATH BASSI_CALLS={log}"
    code, _, err = generate(repo, tasks_dir, "gitlab", "--gitlab-image", "", "--install-command", install)
    assert code == 0, err
    (repo / ".gitlab-ci.yml").write_text("include:\n  - local: .gitlab/bassi.gitlab-ci.yml\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "ci"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, check=True)
    variables = ["CI_PIPELINE_SOURCE=schedule", f"BASSI_TASK={TASK_ID}", "BASSI_PUSH_TOKEN=dummy"]
    proc = subprocess.run(
        [tool, *(arg for variable in variables for arg in ("--variable", variable)), f"bassi-{TASK_ID}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    runs = [call for call in recorded_calls(log) if call[:1] == ["execute"]]
    assert runs == [["execute", task_path.relative_to(repo).as_posix(), "--ci", "--junit", "bassi-junit.xml"]]
