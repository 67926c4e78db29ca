"""The unit files, checked by systemd's own tools: `systemd-analyze verify` accepts them with
nothing to say, and `systemd-analyze calendar` on every OnCalendar= line of a generated timer
fires exactly at the engine's next runs, including where systemd alone would skip a DST gap."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bassi_ci.schedules import next_runs, parse_schedule, to_oncalendar
from bassi_ci.scheduling.base import SchedulerError
from bassi_ci.scheduling.systemd_units import (
    BRIDGE_HORIZON,
    bridge_instants,
    exec_line,
    render_service,
    render_timer,
    split_exec_line,
)
from tests.oracles import requires
from tests.schedules.helpers import systemd_next
from tests.schedules.test_systemd_oracle import AGREE, DIFFER
from tests.scheduling.systemd_fakes import fixed_now, make_entry

ITERATIONS = 5
# A workdir with every character that means something to a unit file or a command line.
HOSTILE_DIR = "w d %n %% $HOME ${X} \"q\" 'a' ; \\b é"


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _oncalendar_values(timer: str) -> list[str]:
    return [line.removeprefix("OnCalendar=") for line in timer.splitlines() if line.startswith("OnCalendar=")]


def _verify(folder: Path, *names: str) -> subprocess.CompletedProcess[str]:
    runtime = folder / "runtime"
    runtime.mkdir(exist_ok=True)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_COLORS": "0"}
    command = ["systemd-analyze", "--user", "--man=no", "verify", *names]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)


@requires("systemd-analyze")
@pytest.mark.parametrize(
    ("schedule", "zone"),
    [
        ("daily 02:30", "Europe/Berlin"),  # with DST bridge lines
        ("every 90m", "UTC"),  # monotonic: OnActiveSec/OnUnitActiveSec
        ("once 2027-03-28 02:30", "Europe/Berlin"),
        ("*/15 9-17 * * 1-5", "America/New_York"),
        ("monthly 31st 08:00", "Australia/Sydney"),
    ],
)
def test_generated_units_pass_systemd_analyze_verify(tmp_path: Path, schedule: str, zone: str) -> None:
    root = tmp_path / HOSTILE_DIR
    root.mkdir()
    entry = make_entry(root, task_id="nightly-2", schedule=schedule, zone=zone)
    units = tmp_path / "units"
    units.mkdir()
    (units / "bassi-nightly-2.timer").write_text(render_timer(entry, fixed_now()))
    (units / "bassi-nightly-2.service").write_text(render_service(entry))

    done = _verify(units, "bassi-nightly-2.timer", "bassi-nightly-2.service")
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "")


@requires("systemd-analyze")
def test_verify_would_catch_an_unescaped_percent(tmp_path: Path) -> None:
    """The oracle can fail: the same service with `%%` undone is rejected."""
    service = render_service(make_entry(tmp_path)).replace("exec ", "exec %z ", 1)
    (tmp_path / "bassi-nightly.service").write_text(service)
    done = _verify(tmp_path, "bassi-nightly.service")
    assert done.returncode != 0 and "%z" in done.stderr


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_exec_start_splits_back_into_the_same_argv(words: list[str]) -> None:
    argv = ("/bin/sh", *words)
    line = exec_line(argv)
    assert "\n" not in line and "\r" not in line  # nothing can start a new unit file line
    assert not line.endswith("\\")  # nor continue onto the next one
    assert re.sub(r"%%", "", line).count("%") == 0  # no specifier survives
    assert split_exec_line(line) == argv


def test_a_relative_program_or_a_control_character_in_a_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SchedulerError, match="must start with an absolute path"):
        exec_line(("sh", "-c", "true"))
    entry = make_entry(tmp_path)
    bad = replace(entry, workdir=tmp_path / "a\nExecStart=/bin/evil")
    with pytest.raises(SchedulerError, match="holds a control character"):
        render_service(bad)


@requires("systemd-analyze")
@pytest.mark.parametrize(("text", "zone", "base"), [row[:3] for row in DIFFER] + AGREE[:12])
def test_the_timer_fires_exactly_at_the_engines_runs(tmp_path: Path, text: str, zone: str, base: str) -> None:
    """systemd's own calendar on all OnCalendar= lines, merged, gives the engine's next runs."""
    entry = make_entry(tmp_path, schedule=text, zone=zone)
    timer = render_timer(entry, _utc(base))
    elapses = systemd_next(_utc(base), _oncalendar_values(timer), ITERATIONS)
    merged = sorted({instant for found in elapses for instant in found})[:ITERATIONS]
    ours = next_runs(parse_schedule(text), zone, _utc(base), ITERATIONS)
    assert merged == [instant.astimezone(UTC) for instant in ours]


@requires("systemd-analyze")
@pytest.mark.parametrize(("text", "zone", "base"), [row[:3] for row in DIFFER])
def test_without_the_bridge_systemd_would_miss_a_run(text: str, zone: str, base: str) -> None:
    """So the test above is not passing by accident: the plain OnCalendar= alone differs."""
    plain = systemd_next(_utc(base), [to_oncalendar(parse_schedule(text), zone)], ITERATIONS)[0]
    ours = next_runs(parse_schedule(text), zone, _utc(base), ITERATIONS)
    assert plain != [instant.astimezone(UTC) for instant in ours]


def test_the_bridge_covers_two_years_from_install_and_a_reinstall_moves_it() -> None:
    daily = parse_schedule("daily 02:30")
    start = fixed_now("2027-01-01 00:00")
    assert bridge_instants(daily, "Europe/Berlin", start, start + BRIDGE_HORIZON) == [
        _utc("2027-03-28 01:00"),
        _utc("2028-03-26 01:00"),
    ]
    later = fixed_now("2028-06-01 00:00")
    assert bridge_instants(daily, "Europe/Berlin", later, later + BRIDGE_HORIZON) == [
        _utc("2029-03-25 01:00"),
        _utc("2030-03-31 01:00"),
    ]


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("daily 02:30", "America/St_Johns", ["2027-03-14 05:30", "2028-03-12 05:30"]),  # half-hour offset
        ("daily 02:30", "Australia/Sydney", ["2027-10-02 16:00", "2028-09-30 16:00"]),  # southern spring
        ("every 30m", "Europe/Berlin", []),  # 03:00 is a run of its own: systemd runs it too
        ("0 2,3 * * *", "Europe/Berlin", []),
        ("daily 02:30", "UTC", []),
        ("daily 02:30", "Asia/Kolkata", []),
        ("every 90m", "Europe/Berlin", []),  # fixed steps ignore DST
        ("sunday 02:30", "Europe/Berlin", ["2027-03-28 01:00", "2028-03-26 01:00"]),
        ("weekdays 02:30", "Europe/Berlin", []),  # the EU changes its clocks on Sundays
    ],
)
def test_bridged_instants(text: str, zone: str, expected: list[str]) -> None:
    start = fixed_now("2027-01-01 00:00")
    found = bridge_instants(parse_schedule(text), zone, start, start + BRIDGE_HORIZON)
    assert found == [_utc(item) for item in expected]


def test_a_once_in_a_gap_is_bridged_whatever_its_date() -> None:
    once = parse_schedule("once 2031-03-30 02:30")
    start = fixed_now("2027-01-01 00:00")
    assert bridge_instants(once, "Europe/Berlin", start, start) == [_utc("2031-03-30 01:00")]
    assert bridge_instants(parse_schedule("once 2031-03-30 03:30"), "Europe/Berlin", start, start) == []


# systemd's own parser, as an oracle for ExecStart= quoting: `systemd --test` loads the units and
# dumps each command line as it split it. It refuses to run as root, so root drops to nobody.
SYSTEMD = "/lib/systemd/systemd"
TRICKY_WORDS = ["a b", '"', "'", "\\", "\\;", ";", "%n", "%%", "$HOME", "${X}", "$$", "tab\there", "new\nline", "é", ""]


def _systemd_dump(unit_text: str, name: str) -> dict[str, str]:
    """The settings systemd parsed from the unit, as `systemd --test` dumps them."""
    folder = Path(tempfile.mkdtemp(prefix="bassi-systemd-test-"))  # readable by nobody, unlike tmp_path
    try:
        folder.chmod(0o755)
        (folder / name).write_text(unit_text)
        (folder / name).chmod(0o644)
        runtime = folder / "runtime"
        runtime.mkdir(mode=0o777)
        runtime.chmod(0o777)
        env = {"PATH": "/usr/bin:/bin", "SYSTEMD_UNIT_PATH": f"{folder}:", "XDG_RUNTIME_DIR": str(runtime), "HOME": "/"}
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        command = [*drop, SYSTEMD, "--test", "--user", f"--unit={name}", "--log-target=console"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    finally:
        shutil.rmtree(folder)
    section = done.stdout.split(f"\t-> Unit {name}:\n", 1)[-1].split("\t-> Unit ", 1)[0]
    settings = dict(line.strip().partition(": ")[::2] for line in section.splitlines())
    assert "Command Line" in settings, f"{command}: {done.stderr}{done.stdout[-2000:]}"
    return settings


def _unquote_dump(line: str) -> list[str]:
    """Split systemd's dump of a command line: bare words, or "..." with C escapes (octal bytes)."""
    words = []
    for quoted, bare in re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', line):
        raw = bytearray()
        for octal, escaped, plain in re.findall(r"\\([0-7]{3})|\\(.)|([^\\])", quoted or bare, re.DOTALL):
            if octal:
                raw.append(int(octal, 8))
            else:
                raw += (_C_ESCAPES.get(escaped, escaped) if escaped else plain).encode()
        words.append(raw.decode())
    return words


_C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


@requires(SYSTEMD, "setpriv")
def test_systemd_reads_back_the_exact_command_and_workdir(tmp_path: Path) -> None:
    root = tmp_path / HOSTILE_DIR
    root.mkdir()
    entry = make_entry(root)
    argv = (*entry.command, *TRICKY_WORDS)
    service = render_service(entry).replace(exec_line(entry.command), exec_line(argv))
    settings = _systemd_dump(service, "bassi-nightly.service")
    # `$$` stays in the parsed words: systemd turns it into `$` when it runs the command.
    assert _unquote_dump(settings["Command Line"]) == [word.replace("$", "$$") for word in argv]
    assert settings["WorkingDirectory"] == str(entry.workdir)
