"""Stand-ins for `systemctl` and `loginctl` (PID 1 is not systemd here, so no user manager).

Real scripts on PATH, run by the backend as real programs: `systemctl` records every argv,
keeps each timer's enablement in a flag file (so `is-enabled` and `show` answer like the real
one), and fails on demand with a two-line stderr, of which bassi must show only the first.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bassi_ci.scheduling.base import Entry, scheduled_command

NEXT_ELAPSE = "Wed 2027-03-10 09:00:00 CET"
FAILURE = "Failed to enable unit: Access denied"

_SYSTEMCTL = """#!{python}
import json, sys
from pathlib import Path
state = Path({state!r})
argv = ["systemctl", *sys.argv[1:]]
with open(state / "calls.jsonl", "a") as log:
    log.write(json.dumps(argv) + "\\n")
fail = state / "fail"
if fail.exists() and fail.read_text() in argv:
    sys.stderr.write({failure!r} + "\\nsecond line that must not be shown\\n")
    sys.exit(1)
verb, unit = argv[2], argv[-1]
flag = state / ("enabled-" + unit)
if verb == "enable":
    flag.touch()
elif verb == "disable":
    flag.unlink(missing_ok=True)
elif verb == "is-enabled":
    print("enabled" if flag.exists() else "disabled")
    sys.exit(0 if flag.exists() else 1)
elif verb == "show":
    print({next_elapse!r} if flag.exists() else "")
"""

_LOGINCTL = """#!/bin/sh
cat {linger}
"""


@dataclass
class FakeSystemd:
    """The stand-ins' shared state folder."""

    state: Path

    def calls(self) -> list[list[str]]:
        """Every systemctl argv so far, in order."""
        log = self.state / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def changes(self) -> list[list[str]]:
        """The calls that change something (queries left out)."""
        return [argv for argv in self.calls() if argv[2] not in ("is-enabled", "show")]

    def forget_calls(self) -> None:
        (self.state / "calls.jsonl").unlink(missing_ok=True)

    def fail_on(self, word: str | None) -> None:
        """Make every systemctl call whose argv holds `word` fail (None: stop failing)."""
        fail = self.state / "fail"
        fail.write_text(word) if word is not None else fail.unlink(missing_ok=True)

    def enabled(self, unit: str) -> bool:
        return (self.state / f"enabled-{unit}").exists()

    def set_linger(self, value: str) -> None:
        (self.state / "linger").write_text(value + "\n")


def install_fake_systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemd:
    """Put `systemctl` and `loginctl` stand-ins first on PATH (for a test's fixture)."""
    state, bin_dir = tmp_path / "fake-state", tmp_path / "fake-bin"
    state.mkdir()
    bin_dir.mkdir()
    scripts = {
        "systemctl": _SYSTEMCTL.format(
            python=sys.executable, state=str(state), failure=FAILURE, next_elapse=NEXT_ELAPSE
        ),
        "loginctl": _LOGINCTL.format(linger=state / "linger"),
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    fake = FakeSystemd(state)
    fake.set_linger("no")
    return fake


def make_entry(
    root: Path,
    task_id: str = "nightly",
    schedule: str = "daily 09:00",
    zone: str = "Europe/Berlin",
    enabled: bool = True,
) -> Entry:
    """An entry with the real scheduled command, in a workdir that exists."""
    workdir = root / "work"
    workdir.mkdir(exist_ok=True)
    command = scheduled_command(task_id, workdir, root / "bassi-home" / "env")
    return Entry(task_id, schedule, zone, command, workdir, root / "logs", enabled)


def fixed_now(text: str = "2027-01-01 00:00") -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` (and whether it exists) with its bytes; None for folders."""
    if not folder.exists():
        return {}
    found: dict[str, bytes | None] = {".": None}
    for path in sorted(folder.rglob("*")):
        found[str(path.relative_to(folder))] = path.read_bytes() if path.is_file() else None
    return found
