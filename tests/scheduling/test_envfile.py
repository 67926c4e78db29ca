"""BASSI_HOME/env: what /bin/sh really exports from it, that a key needs the flag, and that a
file the user edited is never overwritten."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from bassi_ci.scheduling.envfile import DEFAULT_PATH, env_file_path, render_env_file, write_env_file

SECRET = "sk-ant-api03-very-secret-value"
TOKEN = "oauth-token-also-secret"

ENVIRON = {
    "PATH": "/opt/my tools/bin:/usr/bin:/bin",
    "LANG": "de_DE.UTF-8",
    "LC_ALL": 'it\'s "quoted" $HOME `date` \\ back',
    "ANTHROPIC_BASE_URL": "http://127.0.0.1:8080/v1?a=1&b=$x",
    "ANTHROPIC_MODEL": "claude-sonnet-4-5",
    "ANTHROPIC_API_KEY": SECRET,
    "ANTHROPIC_AUTH_TOKEN": TOKEN,
    "ANTHROPIC_CUSTOM_HEADERS": "x-secret: abc",
    "HOME": "/home/someone",
    "AWS_SECRET_ACCESS_KEY": "not-ours",
    "ANTHROPIC_BAD-NAME": "left out",
}


def exported_by_sh(env_file: Path) -> dict[str, str]:
    """What a job sees: a near-empty environment, then `set -a; . FILE`, as the scheduled command does."""
    script = 'set -a; . "$1"; set +a; env -0'
    output = subprocess.run(
        ["/bin/sh", "-c", script, "sh", str(env_file)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    ).stdout.decode()
    pairs = (item.split("=", 1) for item in output.split("\0") if item)
    return {name: value for name, value in pairs if name not in {"PWD", "SHLVL", "_", "OLDPWD"}}


def write(tmp_path: Path, environ: dict[str, str], *, include_key: bool = False) -> Path:
    home = tmp_path / "bassi home"
    path = env_file_path(home)
    assert write_env_file(path, render_env_file(environ, home, include_key=include_key))
    return path


def test_sh_exports_exactly_the_settings_with_their_values(tmp_path: Path) -> None:
    path = write(tmp_path, ENVIRON)
    assert exported_by_sh(path) == {
        "PATH": ENVIRON["PATH"],
        "LANG": ENVIRON["LANG"],
        "LC_ALL": ENVIRON["LC_ALL"],
        "BASSI_HOME": str(tmp_path / "bassi home"),
        "ANTHROPIC_BASE_URL": ENVIRON["ANTHROPIC_BASE_URL"],
        "ANTHROPIC_MODEL": ENVIRON["ANTHROPIC_MODEL"],
    }


def test_secrets_appear_by_name_only_without_the_flag(tmp_path: Path) -> None:
    text = write(tmp_path, ENVIRON).read_text()
    for value in (SECRET, TOKEN, "x-secret", "not-ours", "left out"):
        assert value not in text
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS"):
        assert f"# {name}=  (set when this file was written; the value is not copied)" in text.splitlines()


def test_the_flag_copies_the_key_values(tmp_path: Path) -> None:
    exported = exported_by_sh(write(tmp_path, ENVIRON, include_key=True))
    assert exported["ANTHROPIC_API_KEY"] == SECRET and exported["ANTHROPIC_AUTH_TOKEN"] == TOKEN
    assert exported["ANTHROPIC_CUSTOM_HEADERS"] == "x-secret: abc"
    assert "HOME" not in exported and "AWS_SECRET_ACCESS_KEY" not in exported


def test_a_bare_environment_still_gives_a_usable_path(tmp_path: Path) -> None:
    exported = exported_by_sh(write(tmp_path, {}))
    assert exported == {"PATH": DEFAULT_PATH, "BASSI_HOME": str(tmp_path / "bassi home")}


@pytest.mark.parametrize(
    "value",
    ["a b", "'", '"', "$(touch /tmp/pwned)", "`id`", "x\ny", "tab\there", "100%", "\\", "é ü 日本", ""],
)
def test_any_value_comes_back_unchanged(tmp_path: Path, value: str) -> None:
    exported = exported_by_sh(write(tmp_path, {"ANTHROPIC_MODEL": value, "LANG": value}))
    assert exported["ANTHROPIC_MODEL"] == value and exported["LANG"] == value


def test_the_file_is_private_even_under_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        path = write(tmp_path, ENVIRON)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_file_is_never_overwritten_without_force(tmp_path: Path) -> None:
    path = write(tmp_path, ENVIRON)
    path.write_text("ANTHROPIC_API_KEY='added by hand'\n")
    assert write_env_file(path, render_env_file({}, tmp_path)) is False
    assert path.read_text() == "ANTHROPIC_API_KEY='added by hand'\n"
    assert write_env_file(path, "PATH=/bin\n", force=True) is True
    assert path.read_text() == "PATH=/bin\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["env"]  # no temporary file left behind


@pytest.mark.parametrize("path", [".:/usr/bin:/bin", "/usr/bin::/bin", "/usr/bin:/bin:", "bin:/usr/bin:/bin"])
def test_path_entries_that_mean_the_workdir_are_left_out(tmp_path: Path, path: str) -> None:
    # A scheduled run starts in the task's workdir, maybe a cloned repository: an empty or
    # relative PATH entry would let a `git` or `python3` committed there run instead of the real one.
    workdir = tmp_path / "repo"
    (workdir / "bin").mkdir(parents=True)
    for folder in (workdir, workdir / "bin"):
        planted = folder / "git"
        planted.write_text("#!/bin/sh\necho planted\n")
        planted.chmod(0o755)
    env_file = write(tmp_path, {"PATH": path})
    found = subprocess.run(
        ["/bin/sh", "-c", 'set -a; . "$1"; set +a; command -v git || echo none', "sh", str(env_file)],
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert not found.startswith(str(workdir)) and found != "git"
    assert exported_by_sh(env_file)["PATH"] == "/usr/bin:/bin"
