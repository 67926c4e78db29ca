"""`ci generate` remembers the generator options it was given (`.bassi/ci-generate.yaml`), so a later
`--check` or plain generate compares like with like; an option given again wins."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cli import run_cli
from tests.generators.helpers import generate, write_task

OPTIONS = Path(".bassi/ci-generate.yaml")
JENKINSFILE = Path("jenkins/bassi-a.Jenkinsfile")
GITLAB = Path(".gitlab/bassi.gitlab-ci.yml")
WORKFLOW = Path(".github/workflows/bassi-a.yml")
VENV_INSTALL = "python3 -m venv .bassi-venv && .bassi-venv/bin/pip install 'bassi-ci==1.2'"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    write_task(tmp_path, "a.yaml", id="a", prompt="p", schedule="daily 09:00", timezone="UTC")
    return tmp_path


def saved(repo: Path) -> object:
    return yaml.safe_load((repo / OPTIONS).read_text(encoding="utf-8"))


def test_check_after_a_generate_with_options_needs_no_options(repo: Path) -> None:
    code, out, err = generate(repo, "--target", "jenkins", "--install-command", VENV_INSTALL)
    assert code == 0, err
    assert f"wrote {OPTIONS.as_posix()}" in out
    assert saved(repo) == {"jenkins": {"install-command": VENV_INSTALL}}
    code, out, err = generate(repo, "--target", "jenkins", "--check")
    assert (code, out) == (0, "1 generated file(s) up to date.\n"), err


def test_check_with_a_changed_option_reports_drift_and_writes_nothing(repo: Path) -> None:
    assert generate(repo, "--target", "jenkins", "--install-command", VENV_INSTALL)[0] == 0
    before = (repo / JENKINSFILE).read_text(), (repo / OPTIONS).read_text()
    other = VENV_INSTALL.replace("1.2", "1.3")
    code, out, err = generate(repo, "--target", "jenkins", "--check", "--install-command", other)
    assert code == 1 and f"{JENKINSFILE.as_posix()}: out of date" in out, out + err
    assert ((repo / JENKINSFILE).read_text(), (repo / OPTIONS).read_text()) == before


def test_a_plain_generate_keeps_the_remembered_options(repo: Path) -> None:
    assert generate(repo, "--target", "gitlab", "--gitlab-image", "", "--gitlab-ref", "develop")[0] == 0
    before = (repo / GITLAB).read_text()
    assert "image:" not in before and "--ref develop" in before
    code, out, _ = generate(repo, "--target", "gitlab")
    assert code == 0 and "already up to date" in out
    assert (repo / GITLAB).read_text() == before


def test_an_option_given_again_replaces_it_and_the_default_value_forgets_it(repo: Path) -> None:
    assert generate(repo, "--target", "gitlab", "--gitlab-image", "", "--gitlab-ref", "develop")[0] == 0
    assert generate(repo, "--target", "gitlab", "--gitlab-ref", "main")[0] == 0
    assert saved(repo) == {"gitlab": {"gitlab-image": ""}}
    text = (repo / GITLAB).read_text()
    assert "--ref main" in text and "image:" not in text
    code, _, _ = generate(repo, "--target", "gitlab", "--gitlab-image", "python:3.12")
    assert code == 0 and "image: python:3.12" in (repo / GITLAB).read_text()
    assert not (repo / OPTIONS).exists(), "nothing differs from the defaults any more"


def test_each_target_keeps_its_own_options(repo: Path) -> None:
    assert generate(repo, "--action", "my-org/run@v2")[0] == 0
    assert generate(repo, "--target", "jenkins", "--install-command", VENV_INSTALL, "--action", "x/y@v9")[0] == 0
    assert saved(repo) == {"github": {"action": "my-org/run@v2"}, "jenkins": {"install-command": VENV_INSTALL}}
    assert generate(repo, "--check")[0] == 0
    assert "uses: my-org/run@v2" in (repo / WORKFLOW).read_text()


def test_a_generate_on_the_defaults_writes_no_options_file(repo: Path) -> None:
    for target in ("github", "gitlab", "jenkins"):
        assert generate(repo, "--target", target)[0] == 0
    assert not (repo / ".bassi" / OPTIONS.name).exists()


def test_check_never_writes_the_options_file(repo: Path) -> None:
    assert generate(repo, "--target", "jenkins")[0] == 0
    code, _, _ = generate(repo, "--target", "jenkins", "--check", "--install-command", VENV_INSTALL)
    assert code == 1
    assert not (repo / OPTIONS).exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("jenkins: [1, 2\n", "cannot be read"),
        ("- jenkins\n", "expected a mapping of targets"),
        ("circleci: {}\n", "unknown target 'circleci'"),
        (
            "jenkins: {install-commnd: x}\n",
            "'install-commnd' is not an option of this target (expected install-command)",
        ),
        ("gitlab: {gitlab-ref: 2024}\n", "gitlab-ref must be a text"),
        ("jenkins: pip\n", "jenkins: expected a mapping of options"),
    ],
)
def test_a_broken_options_file_is_a_one_line_usage_error(repo: Path, content: str, problem: str) -> None:
    (repo / OPTIONS).write_text(content)
    code, out, err = generate(repo, "--target", "jenkins")
    assert code == 2, out + err
    assert err.count("\n") == 1 and str(repo / OPTIONS) in err and problem in err and "fix or delete it" in err
    assert "Traceback" not in err
    assert not (repo / JENKINSFILE).exists()


def test_an_emptied_options_file_means_the_defaults(repo: Path) -> None:
    (repo / OPTIONS).write_text("# all gone\njenkins:\n")
    code, _, err = generate(repo, "--target", "jenkins")
    assert code == 0, err
    assert (
        "sh 'python3 -m venv .bassi-venv && .bassi-venv/bin/pip install bassi-ci'" in (repo / JENKINSFILE).read_text()
    )


def test_the_folder_of_the_options_file_is_no_tasks_folder(tmp_path: Path) -> None:
    (tmp_path / ".bassi").mkdir()
    (tmp_path / ".bassi" / "a.yaml").write_text("id: a\nprompt: p\n")
    code, _, err = run_cli("ci", "generate", "--tasks-dir", str(tmp_path / ".bassi"), "--out", str(tmp_path))
    assert code == 2 and "holds .bassi/ci-generate.yaml" in err and ".bassi/tasks/" in err, err


def test_an_option_that_is_not_utf8_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    """Bytes that are no UTF-8 (as Python holds them from argv) fit in no file, the options file included."""
    (tmp_path / ".bassi" / "tasks").mkdir(parents=True)  # no task: no CI file would show the option
    code, out, err = generate(tmp_path, "--target", "jenkins", "--install-command", "pip install bassi\udcff")
    assert code == 2, out + err
    assert err == "bassi: error: --install-command: not valid UTF-8 text; nothing was written\n"
    assert not (tmp_path / OPTIONS).exists()
