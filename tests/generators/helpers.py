"""Task files in a temporary repository (also in a custom tasks folder with commit settings),
and `bassi ci …` run through the real entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.cli import run_cli

GITLAB = Path(".gitlab/bassi.gitlab-ci.yml")
NASTY = "${{ secrets.STOLEN }} 'single' \"double\" `tick` $(touch /tmp/pwned) #not-a-comment: {x} [y] & * ! | > %"


def write_task(repo: Path, filename: str, **fields: Any) -> Path:
    path = repo / ".bassi" / "tasks" / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(fields, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def generate(repo: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli("ci", "generate", "--tasks-dir", str(repo / ".bassi" / "tasks"), "--out", str(repo), *extra)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def custom_tasks(repo: Path, **commit: Any) -> Path:
    """A task with commit settings in a non-default tasks folder."""
    folder = repo / "ops" / "agent tasks"
    folder.mkdir(parents=True)
    fields: dict[str, Any] = {"id": "weekly", "prompt": "p", "schedule": "monday 09:00", "timezone": "UTC"}
    if commit:
        fields["commit"] = commit
    (folder / "weekly.yaml").write_text(yaml.safe_dump(fields))
    return folder
