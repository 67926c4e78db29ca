"""The release (issue #11, part 5): .github/workflows/release.yml, the one version, the build.

The workflow is checked by actionlint and check-jsonschema; its shell steps run here for real
(`bash -c` with the step's env), with a recording stand-in for `gh`, which needs GitHub. The
build runs the real `python -m build` and `twine check` on this checkout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from bassi_ci import __version__
from tests.cli import run_cli
from tests.oracles import actionlint, check_schema, requires

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


def workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(RELEASE.read_text(encoding="utf-8"))
    return data


def step(job: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in workflow()["jobs"][job]["steps"] if s.get("name") == name)
    return found


@requires("actionlint", "check-jsonschema")
def test_release_workflow_passes_actionlint_and_the_workflow_schema() -> None:
    actionlint(RELEASE, cwd=ROOT)
    check_schema("vendor.github-workflows", RELEASE)


def test_every_action_is_pinned_by_commit_sha_with_its_version() -> None:
    text = RELEASE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if re.match(r"\s*(- )?uses:", line)]
    assert len(lines) == 5
    for line in lines:
        assert PINNED.match(line), f"not pinned to a 40-hex SHA with a '# vX.Y.Z' comment: {line.strip()}"
    used = {
        step["uses"].split("@")[0] for job in workflow()["jobs"].values() for step in job["steps"] if "uses" in step
    }
    assert used == {
        "actions/checkout",
        "actions/setup-python",
        "actions/upload-artifact",
        "actions/download-artifact",
        "pypa/gh-action-pypi-publish",
    }


def test_publishing_is_trusted_publishing_in_an_environment() -> None:
    flow = workflow()
    jobs = flow["jobs"]
    assert flow["permissions"] == {"contents": "read"}
    publish = jobs["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    (publisher,) = [s for s in publish["steps"] if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    assert "with" not in publisher, "no password or token: PyPI trusts the OIDC token"
    assert "secrets." not in RELEASE.read_text(encoding="utf-8")
    # Only the job that moves the major tag may write to the repository, and only after publishing.
    writers = [name for name, job in jobs.items() if "write" in (job.get("permissions") or {}).get("contents", "")]
    assert writers == ["move-major-tag"]
    assert jobs["publish"]["needs"] == "build" and jobs["move-major-tag"]["needs"] == "publish"


def test_it_runs_on_version_tags_only() -> None:
    on = workflow()[True]  # type: ignore[index]  # YAML 1.1 reads the key `on` as true
    assert list(on) == ["push"] and list(on["push"]) == ["tags"]
    (pattern,) = on["push"]["tags"]
    assert pattern.startswith("v[0-9]+.")  # v1.2.3 and v1.2.3rc1, never the major tag v1 itself


def test_the_version_is_written_in_one_place() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "bassi_ci/__version__.py"
    code, out, _ = run_cli("--version")
    assert code == 0 and __version__ in out
    elsewhere = [
        path
        for path in (ROOT / "bassi_ci").rglob("*.py")
        if path.name != "__version__.py" and re.search(r"__version__\s*=", path.read_text(encoding="utf-8"))
    ]
    assert elsewhere == []


def run_step(run: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-c", run], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )


def test_the_tag_must_name_the_packages_version() -> None:
    check = step("build", "The tag names the package's version")
    path_env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # `python` is this interpreter
    assert run_step(check["run"], {**path_env, "TAG": f"v{__version__}"}).returncode == 0
    wrong = run_step(check["run"], {**path_env, "TAG": "v99.0.0"})
    assert wrong.returncode == 1
    assert f"tag v99.0.0 does not match bassi_ci/__version__.py ({__version__}); tag v{__version__}" in wrong.stdout


GH_STANDIN = """#!/bin/sh
# Records each call; `gh api repos/…/git/ref/tags/X` succeeds only when X is in $GH_EXISTING_TAGS.
echo "gh $*" >> "$GH_LOG"
case "$2" in
  */git/ref/tags/*) for tag in $GH_EXISTING_TAGS; do [ "${2##*/}" = "$tag" ] && exit 0; done; exit 1;;
esac
"""


@pytest.mark.parametrize(
    ("tag", "existing", "calls"),
    [
        (
            "v1.4.2",
            "v1",
            [
                "gh api repos/bassi/run/git/ref/tags/v1",
                "gh api --method PATCH repos/bassi/run/git/refs/tags/v1 -f sha=abc123 -F force=true",
            ],
        ),
        (
            "v2.0.0",
            "v1",
            [
                "gh api repos/bassi/run/git/ref/tags/v2",
                "gh api --method POST repos/bassi/run/git/refs -f ref=refs/tags/v2 -f sha=abc123",
            ],
        ),
        ("v1.5.0rc1", "v1", []),
    ],
)
def test_the_major_tag_follows_each_final_release(tmp_path: Path, tag: str, existing: str, calls: list[str]) -> None:
    gh = tmp_path / "bin" / "gh"
    gh.parent.mkdir()
    gh.write_text(GH_STANDIN)
    gh.chmod(0o755)
    log = tmp_path / "gh.log"
    log.touch()
    move = step("move-major-tag", "Point the major tag (v1) at this release")
    env = {
        "PATH": f"{gh.parent}:{os.environ['PATH']}",
        "TAG": tag,
        "GH_TOKEN": "not-used",
        "GITHUB_REPOSITORY": "bassi/run",
        "GITHUB_SHA": "abc123",
        "GH_LOG": str(log),
        "GH_EXISTING_TAGS": existing,
    }
    proc = run_step(move["run"], env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert log.read_text().splitlines() == calls


@pytest.mark.slow
@requires("pyproject-build", "twine")
def test_sdist_and_wheel_build_and_pass_twine_check(tmp_path: Path) -> None:
    # --no-isolation: the backend (hatchling) comes from the test extra, so no download is needed here.
    built = subprocess.run(
        ["pyproject-build", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = tmp_path / f"bassi_ci-{__version__}-py3-none-any.whl"
    sdist = tmp_path / f"bassi_ci-{__version__}.tar.gz"
    assert sorted(tmp_path.iterdir()) == sorted([wheel, sdist])
    checked = subprocess.run(
        ["twine", "check", "--strict", str(wheel), str(sdist)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"bassi_ci-{__version__}.dist-info/METADATA").decode()
    assert {"bassi_ci/schemas/result.schema.json", "bassi_ci/py.typed", "bassi_ci/__version__.py"} <= names
    assert f"\nVersion: {__version__}\n" in metadata
