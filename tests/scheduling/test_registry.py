"""The registry of installations: round trip, replace, forget, the recorded entry, and a damaged
file is an error."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bassi_ci.errors import StoreError
from bassi_ci.scheduling.registry import (
    Installation,
    forget_installation,
    installation_of,
    read_installations,
    record_entry,
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


def test_a_record_without_entry_reads_as_unknown_and_unknown_fields_are_ignored(isolated_home: Path) -> None:
    """Records of an earlier bassi have no `entry`; a later bassi may add fields this one ignores."""
    registry_path().parent.mkdir(parents=True, exist_ok=True)
    old = {"task_id": "a", "task_file": "/t/a.yaml", "backend": "cron", "installed_at": "2027-03-01T09:00:00+00:00"}
    later = {**old, "task_id": "b", "entry": {"schedule": "daily 09:00"}, "added_later": 1}
    registry_path().write_text(json.dumps({"installations": [old, later]}), encoding="utf-8")
    found = read_installations()
    assert found["a"].entry is None
    assert found["b"].entry == {"schedule": "daily 09:00"} and found["b"].backend == "cron"


def test_record_entry_keeps_the_install_time(isolated_home: Path) -> None:
    record_installation(_installation("a"))
    record_entry("a", {"enabled": False})
    record_entry("never-installed", {"enabled": False})
    assert installation_of("a") == replace(_installation("a"), entry={"enabled": False})
    assert sorted(read_installations()) == ["a"]
