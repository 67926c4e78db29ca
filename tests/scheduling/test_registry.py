"""The registry of installations: round trip, replace, forget, and a damaged file is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bassi_ci.errors import StoreError
from bassi_ci.scheduling.registry import (
    Installation,
    forget_installation,
    installation_of,
    read_installations,
    record_installation,
    registry_path,
)


def _installation(task_id: str, backend: str = "cron") -> Installation:
    return Installation(task_id, f"/repo/.bassi/tasks/{task_id}.yaml", backend, "2027-03-01T09:00:00.000+00:00")


def test_record_replace_and_forget(isolated_home: Path) -> None:
    assert read_installations() == {}
    record_installation(_installation("a"))
    record_installation(_installation("b", "systemd"))
    record_installation(_installation("a", "launchd"))
    assert installation_of("a") == _installation("a", "launchd")
    assert sorted(read_installations()) == ["a", "b"]
    forget_installation("a")
    forget_installation("never-installed")
    assert sorted(read_installations()) == ["b"]
    assert registry_path().parent == isolated_home


@pytest.mark.parametrize("text", ["{", '{"installations": [{"task_id": "a"}]}', "[]"])
def test_a_damaged_registry_is_a_clear_error(isolated_home: Path, text: str) -> None:
    registry_path().parent.mkdir(parents=True, exist_ok=True)
    registry_path().write_text(text, encoding="utf-8")
    with pytest.raises(StoreError, match="is damaged"):
        read_installations()
