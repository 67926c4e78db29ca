"""The launchd backend, on Linux: real plists checked by plistlib and plistutil, a recording
stand-in `launchctl` on PATH (tests/scheduling/launchctl_stand_in.py), and launchd's calendar
matching simulated in the machine's zone to compare with the engine's runs.

Golden plists per schedule kind live in tests/scheduling/golden/launchd/. To change them ON
PURPOSE, rewrite them from the current code and review the diff:

    BASSI_UPDATE_GOLDEN=1 PYTHONPATH=. python3 -m pytest -q tests/scheduling/test_launchd.py
"""

from __future__ import annotations

import json
import os
import plistlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bassi_ci.errors import ScheduleError
from bassi_ci.schedules import next_runs, parse_schedule
from bassi_ci.scheduling.base import Entry, Plan, SchedulerError
from bassi_ci.scheduling.due import is_due
from bassi_ci.scheduling.launchd import LaunchdBackend
from tests.cli import ROOT
from tests.oracles import requires

HERE = Path(__file__).parent
GOLDEN = HERE / "golden" / "launchd"
UPDATE = os.environ.get("BASSI_UPDATE_GOLDEN") == "1"
NOW = datetime(2027, 1, 1, tzinfo=UTC)
PYTHON = "/opt/bassi/bin/python3"
UID = 501


def make_entry(
    task_id: str = "nightly", schedule: str = "daily 09:00", zone: str = "Europe/Berlin", **kw: Any
) -> Entry:
    command = ("/bin/sh", "-c", f"cd /Users/ada/project && exec {PYTHON} -m bassi_ci execute --ci {task_id}")
    values: dict[str, Any] = {
        "task_id": task_id,
        "schedule": schedule,
        "timezone": zone,
        "command": command,
        "workdir": Path("/Users/ada/project"),
        "log_dir": Path(f"/Users/ada/.bassi/logs/{task_id}"),
    }
    return Entry(**{**values, **kw})


def make_backend(root: Path, machine_zone: str = "Europe/Berlin", launchctl: str = "launchctl") -> LaunchdBackend:
    agents = root / "Library" / "LaunchAgents"
    return LaunchdBackend(agents, launchctl, UID, machine_zone, PYTHON, now=lambda: NOW)


# -- golden plists ------------------------------------------------------------------------

GOLDEN_CASES = {
    "daily": ("daily 09:00", "Europe/Berlin"),
    "weekly": ("monday 09:00", "Europe/Berlin"),
    "weekdays": ("weekdays 08:30", "Europe/Berlin"),
    "monthly": ("monthly 15 08:00", "Europe/Berlin"),
    "every-30m": ("every 30m", "Europe/Berlin"),
    "hourly": ("hourly", "Europe/Berlin"),
    "cron-lists": ("0 9,17 1,15 * 1", "Europe/Berlin"),
    "every-90m": ("every 90m", "Europe/Berlin"),
    # The machine is in New York: translated entries behind the due-guard.
    "daily-berlin-on-new-york": ("daily 09:00", "America/New_York"),
    "gap-berlin-on-new-york": ("daily 02:30", "America/New_York"),
}


def golden_plist(name: str) -> str:
    schedule, machine_zone = GOLDEN_CASES[name]
    return make_backend(Path("/Users/ada"), machine_zone).render_plist(make_entry(name, schedule))


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_plists_match_the_golden_files(name: str) -> None:
    path = GOLDEN / f"{name}.plist"
    written = golden_plist(name)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(written, encoding="utf-8")
    assert written == path.read_text(encoding="utf-8"), f"{path} differs; see the module docstring to update it"


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_plists_hold_the_launchd_keys(name: str) -> None:
    document = plistlib.loads(golden_plist(name).encode())
    assert document["Label"] == f"dev.bassi-ci.{name}"
    assert document["WorkingDirectory"] == "/Users/ada/project"
    assert document["StandardOutPath"] == f"/Users/ada/.bassi/logs/{name}/launchd.out.log"
    assert document["StandardErrorPath"] == f"/Users/ada/.bassi/logs/{name}/launchd.err.log"
    assert document["RunAtLoad"] is False
    assert document["EnvironmentVariables"] == {"BASSI_CI_TASK": name}
    assert ("StartInterval" in document) != ("StartCalendarInterval" in document)


def test_one_calendar_entry_is_a_dict_several_are_a_list_and_intervals_count_seconds() -> None:
    def timing(name: str) -> Any:
        document = plistlib.loads(golden_plist(name).encode())
        return document.get("StartCalendarInterval", document.get("StartInterval"))

    assert timing("daily") == {"Hour": 9, "Minute": 0}
    assert timing("every-30m") == [{"Minute": 0}, {"Minute": 30}]
    assert timing("every-90m") == 5400
    assert timing("daily-berlin-on-new-york") == [{"Hour": 3, "Minute": 0}, {"Hour": 4, "Minute": 0}]


@requires("plistutil")
@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_plists_round_trip_through_plistutil(name: str, tmp_path: Path) -> None:
    xml, binary, back = tmp_path / "in.plist", tmp_path / "out.bplist", tmp_path / "back.plist"
    xml.write_text(golden_plist(name), encoding="utf-8")
    # plistutil exits 0 even when it fails, so its output files are what is checked.
    first = subprocess.run(["plistutil", "-i", xml, "-o", binary, "-f", "bin"], capture_output=True, text=True)
    second = subprocess.run(["plistutil", "-i", binary, "-o", back, "-f", "xml"], capture_output=True, text=True)
    assert "ERROR" not in first.stderr + second.stderr
    assert binary.read_bytes().startswith(b"bplist00")
    original = plistlib.loads(xml.read_bytes())
    assert plistlib.loads(binary.read_bytes()) == original
    assert plistlib.loads(back.read_bytes()) == original


def test_a_once_schedule_is_refused_with_a_hint() -> None:
    backend = make_backend(Path("/Users/ada"))
    with pytest.raises(ScheduleError, match="runs once"):
        backend.render_plist(make_entry(schedule="once 2027-03-01 10:00"))


# -- time zones: launchd's calendar simulated in the machine's zone ------------------------


def launchd_fires(
    document: dict[str, Any], machine: ZoneInfo, start: datetime, end: datetime, gap: str
) -> list[datetime]:
    """The instants at which launchd starts the job, from its calendar entries.

    launchd matches the machine's wall clock minute by minute. A wall time that occurs twice
    (fall back) fires once, at its first occurrence. What launchd does with a wall time that
    does not exist (spring forward) is not documented: `gap="skip"` never fires it,
    `gap="normalize"` fires it an offset-change later, as mktime() reads it. Both must work.
    """
    entries = document["StartCalendarInterval"]
    entries = entries if isinstance(entries, list) else [entries]
    # Only the minutes the entries name can match (every minute when one leaves Minute out).
    minutes = {item["Minute"] for item in entries} if all("Minute" in item for item in entries) else range(60)
    fires = set()
    hour = start.astimezone(machine).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    while hour <= end.astimezone(machine).replace(tzinfo=None):
        for wall in (hour.replace(minute=minute) for minute in minutes):
            if any(_entry_matches(item, wall) for item in entries):
                first = wall.replace(tzinfo=machine, fold=0)
                exists = first.astimezone(UTC).astimezone(machine).replace(tzinfo=None) == wall
                if exists or gap == "normalize":
                    fires.add(first.astimezone(UTC))
        hour += timedelta(hours=1)
    return sorted(moment for moment in fires if start <= moment < end)


def _entry_matches(item: dict[str, int], wall: datetime) -> bool:
    now = {"Minute": wall.minute, "Hour": wall.hour, "Day": wall.day, "Month": wall.month}
    now["Weekday"] = wall.isoweekday() % 7
    return all(now[key] == (value % 7 if key == "Weekday" else value) for key, value in item.items())


def started_runs(entry: Entry, document: dict[str, Any], fires: list[datetime]) -> list[datetime]:
    """The fires at which the task really runs: all of them, or those the due-guard lets through."""
    guarded = "bassi_ci.scheduling.due" in " ".join(document["ProgramArguments"])
    return [moment for moment in fires if not guarded or is_due(entry.schedule, entry.timezone, moment)]


def engine_runs(entry: Entry, start: datetime, end: datetime) -> list[datetime]:
    runs = next_runs(parse_schedule(entry.schedule), entry.timezone, start - timedelta(seconds=1), 3000)
    return [run.astimezone(UTC) for run in runs if run < end]


# Both DST changes of 2027, each with the weeks where only one of Berlin and New York changed.
SPRING = (datetime(2027, 3, 10, tzinfo=UTC), datetime(2027, 4, 2, tzinfo=UTC))
AUTUMN = (datetime(2027, 10, 28, tzinfo=UTC), datetime(2027, 11, 10, tzinfo=UTC))
NEW_YORK_FALL_BACK = datetime(2027, 11, 7, 5, tzinfo=UTC)  # 01:00-02:00 runs twice in New York


@pytest.mark.parametrize("gap", ["skip", "normalize"])
@pytest.mark.parametrize(
    ("schedule", "task_zone", "machine_zone"),
    [
        ("daily 09:00", "Europe/Berlin", "America/New_York"),
        ("daily 02:30", "Europe/Berlin", "America/New_York"),  # Berlin's gap: run at 03:00 CEST
        ("weekdays 07:30", "America/New_York", "Europe/Berlin"),
        ("daily 02:30", "Europe/Berlin", "Europe/Berlin"),  # the machine's own gap
        ("daily 01:30", "America/New_York", "America/New_York"),  # the machine's own repeated hour
        ("every 30m", "Europe/Berlin", "Europe/Berlin"),
    ],
)
@pytest.mark.parametrize("period", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_launchd_starts_the_task_exactly_at_the_engines_runs_across_dst_changes(
    schedule: str, task_zone: str, machine_zone: str, gap: str, period: tuple[datetime, datetime]
) -> None:
    entry = make_entry("dst", schedule, task_zone)
    document = plistlib.loads(make_backend(Path("/Users/ada"), machine_zone).render_plist(entry).encode())
    fires = launchd_fires(document, ZoneInfo(machine_zone), *period, gap=gap)
    assert started_runs(entry, document, fires) == engine_runs(entry, *period)


def test_the_one_miss_is_the_second_pass_of_the_machines_repeated_hour() -> None:
    # launchd fires a wall time once; Berlin's 07:00 and 07:30 CET fall on New York's second
    # 01:00-02:00 (EST) of 7 November, which launchd does not wake for. zoneshift says so.
    entry = make_entry("dst", "every 30m", "Europe/Berlin")
    document = plistlib.loads(make_backend(Path("/Users/ada"), "America/New_York").render_plist(entry).encode())
    fires = launchd_fires(document, ZoneInfo("America/New_York"), *AUTUMN, gap="skip")
    missed = sorted(set(engine_runs(entry, *AUTUMN)) - set(started_runs(entry, document, fires)))
    assert missed == [NEW_YORK_FALL_BACK + timedelta(hours=1), NEW_YORK_FALL_BACK + timedelta(hours=1, minutes=30)]
    assert started_runs(entry, document, fires) == sorted(set(engine_runs(entry, *AUTUMN)) - set(missed))


def test_the_guarded_program_runs_the_command_only_when_due(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    command = ("/bin/sh", "-c", f"echo ran >> {ran}")
    entry = make_entry("guarded", "daily 09:00", "Europe/Berlin", command=command)
    backend = LaunchdBackend(tmp_path, "launchctl", UID, "America/New_York", sys.executable, now=lambda: NOW)
    program = plistlib.loads(backend.render_plist(entry).encode())["ProgramArguments"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start(now: str, zone_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            program, env={**env, "BASSI_NOW": now, **(zone_env or {})}, capture_output=True, text=True
        )

    # 04:00 in New York on 2027-03-20 (EDT, Berlin still CET) is 09:00 in Berlin: due.
    due = start("2027-03-20T04:00:20-04:00")
    assert (due.returncode, due.stderr, ran.read_text()) == (0, "", "ran\n")
    # 03:00 in New York that day is a wake-up for the other offset: not due, ends quietly.
    early = start("2027-03-20T03:00:20-04:00")
    assert (early.returncode, early.stdout, early.stderr, ran.read_text()) == (0, "", "", "ran\n")
    # A guard that cannot decide keeps its exit code and message, and runs nothing.
    broken = start("yesterday")
    assert broken.returncode == 2 and "BASSI_NOW" in broken.stderr and ran.read_text() == "ran\n"


# -- launchctl: plans, recorded commands, all or nothing -----------------------------------


@dataclass
class StandIn:
    """The recording launchctl stand-in on PATH and the launchd state it keeps."""

    state: Path

    def calls(self) -> list[list[str]]:
        lines = (self.state / "calls.jsonl").read_text().splitlines() if (self.state / "calls.jsonl").exists() else []
        return [json.loads(line) for line in lines]

    def forget_calls(self) -> None:
        (self.state / "calls.jsonl").unlink(missing_ok=True)

    def launchd(self) -> dict[str, list[str]]:
        path = self.state / "state.json"
        return json.loads(path.read_text()) if path.exists() else {"loaded": [], "disabled": []}


@pytest.fixture
def launchctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    bin_dir, state = tmp_path / "bin", tmp_path / "launchd-state"
    bin_dir.mkdir()
    state.mkdir()
    script = bin_dir / "launchctl"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {HERE / "launchctl_stand_in.py"} "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("LAUNCHCTL_STATE", str(state))
    yield StandIn(state)


@pytest.fixture
def backend(tmp_path: Path) -> LaunchdBackend:
    return make_backend(tmp_path / "home")


def local_entry(tmp_path: Path, **kw: Any) -> Entry:
    return make_entry(log_dir=tmp_path / "logs" / "nightly", **kw)


LABEL = "dev.bassi-ci.nightly"
TARGET = f"gui/{UID}/{LABEL}"


def test_install_writes_the_plist_and_bootstraps_it(
    tmp_path: Path, backend: LaunchdBackend, launchctl: StandIn
) -> None:
    entry = local_entry(tmp_path)
    plan = backend.plan_install(entry)
    path = backend.plist_path("nightly")
    assert path == tmp_path / "home" / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    assert launchctl.calls() == [] and not path.exists()  # planning changes nothing
    backend.apply(plan)
    assert launchctl.calls() == [["enable", TARGET], ["bootstrap", f"gui/{UID}", str(path)]]
    assert path.read_text() == plan.files[0].content  # dry-run shows exactly what apply writes
    assert [list(argv[1:]) for argv in plan.commands] == launchctl.calls()  # ...and runs
    assert entry.log_dir.is_dir()  # launchd does not create the folder of StandardOutPath
    assert launchctl.launchd() == {"loaded": [LABEL], "disabled": []}
    status = backend.status("nightly")
    assert (status.installed, status.enabled, status.details["loaded"]) == (True, True, "yes")
    assert status.command == entry.command and status.paths == (path,)


def test_reinstall_pause_resume_uninstall_run_the_launchctl_sequence(
    tmp_path: Path, backend: LaunchdBackend, launchctl: StandIn
) -> None:
    entry = local_entry(tmp_path)
    backend.apply(backend.plan_install(entry))
    path = backend.plist_path("nightly")
    recorded: dict[str, Any] = {}

    def step(name: str, plan: Plan) -> None:
        launchctl.forget_calls()
        backend.apply(plan)
        recorded[name] = launchctl.calls()
        recorded[f"{name}: loaded, enabled"] = (launchctl.launchd()["loaded"], backend.status("nightly").enabled)

    step("reinstall", backend.plan_install(replace(entry, schedule="daily 10:00")))
    step("pause", backend.plan_enable(entry, False))
    step("resume", backend.plan_enable(entry, True))
    step("uninstall", backend.plan_uninstall("nightly"))
    assert recorded == {
        "reinstall": [["bootout", TARGET], ["enable", TARGET], ["bootstrap", f"gui/{UID}", str(path)]],
        "reinstall: loaded, enabled": ([LABEL], True),
        "pause": [["bootout", TARGET], ["disable", TARGET]],
        "pause: loaded, enabled": ([], False),
        "resume": [["enable", TARGET], ["bootstrap", f"gui/{UID}", str(path)]],
        "resume: loaded, enabled": ([LABEL], True),
        "uninstall": [["bootout", TARGET]],
        "uninstall: loaded, enabled": ([], None),
    }
    assert not path.exists() and launchctl.launchd()["loaded"] == []
    assert backend.plan_uninstall("nightly").files == ()  # nothing left to remove


def test_a_paused_task_is_installed_disabled_and_not_loaded(
    tmp_path: Path, backend: LaunchdBackend, launchctl: StandIn
) -> None:
    backend.apply(backend.plan_install(local_entry(tmp_path, enabled=False)))
    assert launchctl.calls() == [["disable", TARGET]]
    status = backend.status("nightly")
    assert (status.installed, status.enabled, status.details["loaded"]) == (True, False, "no")


def test_a_launchctl_without_bootstrap_gets_load_and_unload(
    tmp_path: Path, backend: LaunchdBackend, launchctl: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCHCTL_OLD", "1")
    entry = local_entry(tmp_path)
    path = str(backend.plist_path("nightly"))
    backend.apply(backend.plan_install(entry))
    assert launchctl.calls() == [["enable", TARGET], ["load", "-w", path]]
    assert backend.status("nightly").details["loaded"] == "yes"  # via `launchctl list`
    for plan, expected in [
        (backend.plan_enable(entry, False), [["bootout", TARGET], ["unload", "-w", path]]),
        (backend.plan_enable(entry, True), [["enable", TARGET], ["load", "-w", path]]),
        (backend.plan_install(entry), [["bootout", TARGET], ["unload", path], ["load", "-w", path]]),
        (backend.plan_uninstall("nightly"), [["bootout", TARGET], ["unload", path]]),
    ]:
        launchctl.forget_calls()
        backend.apply(plan)
        assert launchctl.calls() == expected
    assert launchctl.launchd()["loaded"] == [] and not Path(path).exists()


def test_a_failing_bootstrap_restores_the_previous_plist_and_job(
    tmp_path: Path, backend: LaunchdBackend, launchctl: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = local_entry(tmp_path)
    backend.apply(backend.plan_install(entry))
    path = backend.plist_path("nightly")
    before = path.read_bytes()
    monkeypatch.setenv("LAUNCHCTL_FAIL", "bootstrap")
    launchctl.forget_calls()
    with pytest.raises(SchedulerError) as failure:
        backend.apply(backend.plan_install(replace(entry, schedule="daily 10:00")))
    message = str(failure.value)
    assert message.startswith(f"launchctl bootstrap gui/{UID} {path} failed (exit 5): Bootstrap failed: 5")
    assert "\n" not in message and failure.value.exit_code == 2
    assert path.read_bytes() == before
    # bootout, enable, bootstrap (fails); undone: disable, and the old job bootstrapped again
    # (which the stand-in also fails, as LAUNCHCTL_FAIL says; the real error is the one reported).
    assert [call[0] for call in launchctl.calls()] == ["bootout", "enable", "bootstrap", "disable", "bootstrap"]


def test_a_failing_first_install_leaves_no_file_and_no_folder(
    tmp_path: Path, backend: LaunchdBackend, launchctl: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAUNCHCTL_FAIL", "enable")
    entry = local_entry(tmp_path)
    with pytest.raises(SchedulerError, match=r"launchctl enable .* failed"):
        backend.apply(backend.plan_install(entry))
    assert not (tmp_path / "home").exists() and not entry.log_dir.exists()


def test_an_unwritable_agents_folder_is_a_one_line_error(tmp_path: Path, launchctl: StandIn) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("a file where the home folder should be")
    backend = make_backend(blocker)
    with pytest.raises(SchedulerError, match=r"^cannot write .*LaunchAgents.*; nothing was changed$"):
        backend.apply(backend.plan_install(local_entry(tmp_path)))
    assert launchctl.calls() == [] and blocker.read_text() == "a file where the home folder should be"


def test_a_missing_launchctl_says_where_launchd_exists(tmp_path: Path) -> None:
    backend = make_backend(tmp_path / "home", launchctl=str(tmp_path / "no-launchctl"))
    with pytest.raises(SchedulerError, match="not found: launchd exists only on macOS"):
        backend.apply(backend.plan_install(local_entry(tmp_path)))
    assert not backend.plist_path("nightly").exists()
    assert backend.status("nightly").installed is False


def test_a_foreign_plist_with_our_label_is_never_touched(
    tmp_path: Path, backend: LaunchdBackend, launchctl: StandIn
) -> None:
    path = backend.plist_path("nightly")
    path.parent.mkdir(parents=True)
    foreign = plistlib.dumps({"Label": LABEL, "ProgramArguments": ["/usr/bin/true"]})
    path.write_bytes(foreign)
    entry = local_entry(tmp_path)
    attempts: list[Callable[[], object]] = [
        lambda: backend.plan_install(entry),
        lambda: backend.plan_uninstall("nightly"),
        lambda: backend.plan_enable(entry, False),
    ]
    for attempt in attempts:
        with pytest.raises(SchedulerError, match=r"was not written by bassi .* move it away"):
            attempt()
    status = backend.status("nightly")
    assert status.installed is False and "not written by bassi" in status.details["problem"]
    assert path.read_bytes() == foreign and launchctl.calls() == []


def test_an_unreadable_plist_is_left_alone(tmp_path: Path, backend: LaunchdBackend) -> None:
    path = backend.plist_path("nightly")
    path.parent.mkdir(parents=True)
    path.write_text("not a plist")
    with pytest.raises(SchedulerError, match=r"cannot be read .* leaves it alone"):
        backend.plan_uninstall("nightly")
    assert path.read_text() == "not a plist"


@pytest.mark.parametrize(
    "task_id", ["../evil", "a b", "nightly\n", "Nightly", "x</string>", "dev.bassi-ci.x", "", "a" * 64, "-x"]
)
def test_hostile_ids_are_refused_before_anything_is_written(
    task_id: str, tmp_path: Path, backend: LaunchdBackend, launchctl: StandIn
) -> None:
    entry = local_entry(tmp_path, task_id=task_id)
    attempts: list[Callable[[], object]] = [
        lambda: backend.plan_install(entry),
        lambda: backend.plan_uninstall(task_id),
        lambda: backend.plan_enable(entry, True),
        lambda: backend.status(task_id),
    ]
    for attempt in attempts:
        with pytest.raises(SchedulerError, match="cannot name a launchd job: use lower-case letters") as failure:
            attempt()
        assert "\n" not in str(failure.value).replace(repr(task_id), "")
    assert not (tmp_path / "home").exists() and launchctl.calls() == []


def test_resume_of_a_task_that_is_not_installed_says_how(tmp_path: Path, backend: LaunchdBackend) -> None:
    with pytest.raises(SchedulerError, match=r"has no launchd job in .*: bassi schedule install nightly"):
        backend.plan_enable(local_entry(tmp_path), True)


def test_the_plan_explains_translated_times_and_intervals(tmp_path: Path) -> None:
    new_york = make_backend(tmp_path, "America/New_York")
    note = new_york.plan_install(local_entry(tmp_path)).notes
    assert len(note) == 1 and "launchd has no time zones" in note[0] and "America/New_York" in note[0]
    berlin = make_backend(tmp_path)
    assert berlin.plan_install(local_entry(tmp_path)).notes == ()
    assert "from when the job is loaded" in berlin.plan_install(local_entry(tmp_path, schedule="every 90m")).notes[0]


def test_status_without_a_plist_is_not_installed(backend: LaunchdBackend, launchctl: StandIn) -> None:
    status = backend.status("nightly")
    assert (status.installed, status.enabled, status.backend) == (False, None, "launchd")


def test_the_plan_json_is_the_documented_dry_run_shape(tmp_path: Path, backend: LaunchdBackend) -> None:
    document = backend.plan_install(local_entry(tmp_path)).to_json()
    assert sorted(document) == ["backend", "commands", "crontab", "files"]
    assert document["backend"] == "launchd" and document["crontab"] is None
    assert document["commands"][-1] == ["launchctl", "bootstrap", f"gui/{UID}", str(backend.plist_path("nightly"))]
    assert plistlib.loads(document["files"][0]["content"].encode())["Label"] == LABEL
