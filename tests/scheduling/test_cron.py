"""The cron backend against a recording stand-in crontab (standin.py): the block, foreign
lines byte for byte, pause/resume, concurrent edits, bad input, zones.

The real crontab and cron daemon are in test_cron_e2e.py.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from bassi_ci import clock
from bassi_ci.errors import ScheduleError
from bassi_ci.schedules import next_runs, parse_schedule
from bassi_ci.scheduling.base import Entry, SchedulerError, scheduled_command
from bassi_ci.scheduling.cron import (
    ATTEMPTS,
    BEGIN,
    END,
    CronBackend,
    parse_crontab,
    supports_cron_tz,
)
from bassi_ci.scheduling.due import is_due
from bassi_ci.scheduling.zoneshift import machine_times
from tests.cli import ROOT
from tests.oracles import requires
from tests.scheduling.standin import StandInCrontab

# Everything a hand-kept crontab can hold: comments, environment lines (with spaces around
# "=" and quotes), escaped and bare %, another tool's block, a byte that is not UTF-8,
# trailing blanks, and no newline at the end.
FOREIGN = (
    b"# my crontab: edited by hand\n"
    b"SHELL=/bin/bash\n"
    b'MAILTO="ops@example.com"\n'
    b"PATH = /usr/local/bin:/usr/bin:/bin\n"
    b"CRON_TZ=America/New_York\n"
    b"5 4 * * * date +\\%Y-\\%m-\\%d >> /tmp/dates.log\n"
    b"0 0 * * * echo 100% | mail -s 'daily' me\n"
    b"# BEGIN ANSIBLE MANAGED BLOCK\n"
    b"*/10 * * * * /usr/bin/backup --quiet\n"
    b"# END ANSIBLE MANAGED BLOCK\n"
    b"\n"
    b"# caf\xe9 in latin-1\n"
    b"@reboot /opt/start.sh   \t"
)

WORKDIR = Path("/srv/work dir/it's 100%")
ENV_FILE = Path("/home/u/.bassi/env")


def make_entry(task_id: str, schedule: str = "daily 09:00", tz: str = "UTC", *, enabled: bool = True) -> Entry:
    return Entry(
        task_id=task_id,
        schedule=schedule,
        timezone=tz,
        command=scheduled_command(task_id, WORKDIR, ENV_FILE),
        workdir=WORKDIR,
        log_dir=Path("/home/u/.bassi/logs") / task_id,
        enabled=enabled,
    )


@pytest.fixture
def standin(tmp_path: Path) -> StandInCrontab:
    return StandInCrontab.create(tmp_path / "bin")


@pytest.fixture
def backend(standin: StandInCrontab) -> CronBackend:
    return CronBackend(str(standin.program), machine_zone="UTC", cron_tz=False)


def install(backend: CronBackend, entry: Entry) -> None:
    backend.apply(backend.plan_install(entry))


def block_lines(standin: StandInCrontab) -> list[str]:
    text = standin.content().decode("utf-8", "surrogateescape")
    lines = text.splitlines()
    return lines[lines.index(BEGIN) + 1 : lines.index(END)]


def foreign_part(standin: StandInCrontab) -> bytes:
    """The crontab with bassi's block cut out."""
    crontab = parse_crontab(standin.content().decode("utf-8", "surrogateescape"))
    return (crontab.before + crontab.after).encode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- foreign lines


def test_foreign_lines_stay_byte_for_byte_through_a_whole_lifecycle(
    backend: CronBackend, standin: StandInCrontab
) -> None:
    standin.set(FOREIGN)
    for task_id in ("alpha", "beta", "gamma"):
        install(backend, make_entry(task_id))
        assert foreign_part(standin) == FOREIGN
    install(backend, make_entry("beta", "monday 10:30"))  # edit
    backend.apply(backend.plan_enable(make_entry("gamma"), False))  # pause
    assert foreign_part(standin) == FOREIGN
    backend.apply(backend.plan_enable(make_entry("gamma"), True))  # resume
    assert [line.split(" /bin/sh")[0] for line in block_lines(standin)] == [
        "# bassi-ci:alpha",
        "0 9 * * *",
        "# bassi-ci:beta",
        "30 10 * * 1",
        "# bassi-ci:gamma",
        "0 9 * * *",
    ]
    for task_id in ("beta", "alpha", "gamma"):
        backend.apply(backend.plan_uninstall(task_id))
    assert standin.content() == FOREIGN


def test_a_new_block_goes_on_top_so_user_environment_lines_do_not_reach_it(
    backend: CronBackend, standin: StandInCrontab
) -> None:
    standin.set(FOREIGN)
    install(backend, make_entry("alpha"))
    text = standin.content()
    assert text.startswith(BEGIN.encode() + b"\n# bassi-ci:alpha\n")
    assert text.endswith(b"\n" + END.encode() + b"\n" + FOREIGN)


def test_a_block_found_in_the_middle_stays_there(backend: CronBackend, standin: StandInCrontab) -> None:
    head, tail = b"MAILTO=me\n# top\n", b"# below\n0 1 * * * true\n"
    standin.set(head + f"{BEGIN}\n# bassi-ci:old\n0 3 * * * true\n{END}\n".encode() + tail)
    install(backend, make_entry("alpha"))
    text = standin.content()
    assert text.startswith(head + BEGIN.encode()) and text.endswith(END.encode() + b"\n" + tail)
    assert "# bassi-ci:old" in block_lines(standin) and "# bassi-ci:alpha" in block_lines(standin)
    backend.apply(backend.plan_uninstall("old"))
    backend.apply(backend.plan_uninstall("alpha"))
    assert standin.content() == head + tail


def test_a_missing_crontab_is_an_empty_one(backend: CronBackend, standin: StandInCrontab) -> None:
    assert backend.status("alpha").installed is False
    plan = backend.plan_install(make_entry("alpha"))
    assert plan.crontab_before == "" and plan.crontab is not None and plan.crontab.startswith(BEGIN)
    backend.apply(plan)
    backend.apply(backend.plan_uninstall("alpha"))
    assert standin.content() == b""


def test_uninstalling_a_task_that_is_not_there_changes_nothing(backend: CronBackend, standin: StandInCrontab) -> None:
    standin.set(FOREIGN)
    plan = backend.plan_uninstall("alpha")
    assert plan.crontab is None and plan.commands == ()
    backend.apply(plan)
    assert standin.calls() == ["-l"] and standin.content() == FOREIGN


# --------------------------------------------------------------------------- plans


def test_the_dry_run_plan_is_exactly_what_apply_writes(backend: CronBackend, standin: StandInCrontab) -> None:
    standin.set(FOREIGN)
    plan = backend.plan_install(make_entry("alpha"))
    assert standin.content() == FOREIGN and standin.calls() == ["-l"]  # planning only reads
    document = plan.to_json()
    assert document["backend"] == "cron" and document["commands"] == [[str(standin.program), "-"]]
    backend.apply(plan)
    assert standin.content().decode("utf-8", "surrogateescape") == document["crontab"]
    assert standin.calls() == ["-l", "-l", "-"]  # the re-read just before the write


def test_pause_comments_the_line_out_and_resume_restores_it_exactly(
    backend: CronBackend, standin: StandInCrontab
) -> None:
    install(backend, make_entry("alpha"))
    installed = standin.content()
    backend.apply(backend.plan_enable(make_entry("alpha"), False))
    tag, line = block_lines(standin)
    assert tag == "# bassi-ci:alpha (paused)" and line.startswith("#0 9 * * * /bin/sh -c ")
    status = backend.status("alpha")
    assert (status.installed, status.enabled) == (True, False)
    backend.apply(backend.plan_enable(make_entry("alpha"), True))
    assert standin.content() == installed
    assert backend.status("alpha").enabled is True


def test_installing_a_paused_entry_writes_it_commented_out(backend: CronBackend, standin: StandInCrontab) -> None:
    install(backend, make_entry("alpha", enabled=False))
    assert block_lines(standin)[1].startswith("#0 9 * * * ")


def test_pausing_a_task_without_a_line_changes_nothing(backend: CronBackend, standin: StandInCrontab) -> None:
    plan = backend.plan_enable(make_entry("alpha"), False)
    assert plan.crontab is None and "no line in the crontab" in plan.notes[0]


def test_status_gives_back_the_exact_command(backend: CronBackend, standin: StandInCrontab) -> None:
    entry = make_entry("alpha")
    install(backend, entry)
    status = backend.status("alpha")
    assert status.backend == "cron" and status.installed and status.enabled
    assert status.command == entry.command
    assert status.details["line"].startswith("0 9 * * * /bin/sh -c ")


# --------------------------------------------------------------------------- the command in the line


def test_percent_signs_are_escaped_and_the_command_survives_the_shell(
    backend: CronBackend, standin: StandInCrontab, tmp_path: Path
) -> None:
    """What cron hands to /bin/sh (the line after the fields, with \\% turned back into %)
    is the entry's argv, word for word."""
    install(backend, make_entry("alpha"))
    line = block_lines(standin)[1]
    assert "%" not in line.replace("\\%", "")
    command_text = line.split(" ", 5)[5].replace("\\%", "%")
    printed = subprocess.run(
        ["/bin/sh", "-c", f"printf '%s\\0' {command_text.removeprefix('/bin/sh ')}"],
        capture_output=True,
        check=True,
    ).stdout
    assert printed.split(b"\0")[:-1] == [word.encode() for word in make_entry("alpha").command[1:]]


@pytest.mark.parametrize("task_id", ["a\nb", "x#y", "../etc", "Alpha", "", "a b", "alpha\n* * * * * rm -rf ~", "-l"])
def test_ids_that_try_to_inject_are_refused(backend: CronBackend, standin: StandInCrontab, task_id: str) -> None:
    entry = make_entry("alpha")
    for call in (
        lambda: backend.plan_install(replace(entry, task_id=task_id)),
        lambda: backend.plan_uninstall(task_id),
        lambda: backend.status(task_id),
    ):
        with pytest.raises(SchedulerError, match="cannot go into a crontab line"):
            call()
    assert standin.calls() == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("schedule", "daily 09:00\n* * * * * evil", "line break or '#'"),
        ("schedule", "daily 09:00 # x", "line break or '#'"),
        ("timezone", "UTC\nevil", "line break or '#'"),
        ("timezone", "UTC#x", "line break or '#'"),
        ("command", ("/bin/sh", "-c", "true\n* * * * * evil"), "line break or control character"),
        ("workdir", Path("/srv/a\rb"), "line break or control character"),
    ],
)
def test_line_breaks_and_hashes_in_fields_are_refused(
    backend: CronBackend, standin: StandInCrontab, field: str, value: object, message: str
) -> None:
    entry = replace(make_entry("alpha"), **{field: value})  # type: ignore[arg-type]  # deliberately bad values
    with pytest.raises(SchedulerError, match=message) as raised:
        backend.plan_install(entry)
    assert "\n" not in str(raised.value).replace("\\n", "")
    assert standin.calls() == []


def test_a_hash_or_quote_in_the_workdir_is_quoted_not_refused(backend: CronBackend, standin: StandInCrontab) -> None:
    workdir = Path("/srv/#1 'odd' \"dir\"")
    entry = replace(make_entry("alpha"), workdir=workdir, command=scheduled_command("alpha", workdir, ENV_FILE))
    install(backend, entry)
    assert backend.status("alpha").command == entry.command


@pytest.mark.parametrize(
    ("schedule", "message"),
    [("every 90m", "does not divide an hour or a day"), ("once 2027-01-31 10:00", "runs once")],
)
def test_schedules_cron_cannot_say_are_refused_with_a_way_out(
    backend: CronBackend, standin: StandInCrontab, schedule: str, message: str
) -> None:
    with pytest.raises(ScheduleError, match=message):
        backend.plan_install(make_entry("alpha", schedule))
    assert not standin.file.exists()


# --------------------------------------------------------------------------- concurrent edits


def test_an_edit_made_between_plan_and_apply_is_kept(backend: CronBackend, standin: StandInCrontab) -> None:
    standin.set(FOREIGN)
    plan = backend.plan_install(make_entry("alpha"))
    standin.set(standin.content() + b"\n# added by the user meanwhile\n")
    backend.apply(plan)
    assert foreign_part(standin) == FOREIGN + b"\n# added by the user meanwhile\n"
    assert "# bassi-ci:alpha" in block_lines(standin)


def test_another_bassi_adding_a_task_meanwhile_is_not_overwritten(
    backend: CronBackend, standin: StandInCrontab
) -> None:
    install(backend, make_entry("alpha"))
    first = backend.plan_install(make_entry("beta"))
    second = backend.plan_uninstall("alpha")  # planned from the same text
    backend.apply(first)
    backend.apply(second)
    assert [line for line in block_lines(standin) if line.startswith("#")] == ["# bassi-ci:beta"]


def test_a_crontab_that_keeps_changing_is_never_clobbered(backend: CronBackend, standin: StandInCrontab) -> None:
    standin.set(FOREIGN)
    plan = backend.plan_install(make_entry("alpha"))
    standin.interfere(100)
    with pytest.raises(SchedulerError, match=f"kept changing .*{ATTEMPTS} tries.*nothing was written"):
        backend.apply(plan)
    assert "-" not in standin.calls()
    edits = b"".join(b"# another editor, change %d\n" % n for n in range(100, 100 - ATTEMPTS, -1))
    assert standin.content() == FOREIGN + edits


def test_a_refused_write_leaves_the_crontab_as_it_was(backend: CronBackend, standin: StandInCrontab) -> None:
    standin.set(FOREIGN)
    standin.refuse_writes()
    with pytest.raises(SchedulerError, match=r"refused the new crontab \(errors in crontab file.*unchanged"):
        install(backend, make_entry("alpha"))
    assert standin.content() == FOREIGN


def test_a_damaged_block_is_reported_not_guessed_at(backend: CronBackend, standin: StandInCrontab) -> None:
    standin.set(f"{BEGIN}\n# bassi-ci:alpha\n0 9 * * * true\n".encode())
    with pytest.raises(SchedulerError, match=r"block of the crontab is damaged .*crontab -e"):
        backend.plan_install(make_entry("beta"))
    standin.set(f"{BEGIN}\n0 9 * * * someone-elses-job\n{END}\n".encode())
    with pytest.raises(SchedulerError, match="a line bassi did not write"):
        backend.plan_install(make_entry("beta"))


# --------------------------------------------------------------------------- the crontab program


def test_a_missing_crontab_program_says_to_install_cron(tmp_path: Path) -> None:
    backend = CronBackend(str(tmp_path / "no-such-crontab"), machine_zone="UTC", cron_tz=False)
    with pytest.raises(SchedulerError, match=r"needs the `.*no-such-crontab` program.*apt-get install cron"):
        backend.plan_install(make_entry("alpha"))


def test_the_default_program_is_crontab_on_path(
    standin: StandInCrontab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", f"{standin.program.parent}{os.pathsep}{os.environ['PATH']}")
    install(CronBackend(machine_zone="UTC", cron_tz=False), make_entry("alpha"))
    assert standin.calls() == ["-l", "-l", "-"]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(SchedulerError, match="needs the `crontab` program"):
        CronBackend(machine_zone="UTC", cron_tz=False).status("alpha")


def test_a_failing_crontab_listing_is_one_line(tmp_path: Path) -> None:
    program = tmp_path / "crontab"
    program.write_text(
        "#!/bin/sh\necho 'crontab: your UID isn'\"'\"'t in the passwd file.' >&2\necho more >&2\nexit 1\n"
    )
    program.chmod(0o755)
    with pytest.raises(SchedulerError) as raised:
        CronBackend(str(program), machine_zone="UTC", cron_tz=False).status("alpha")
    assert str(raised.value) == f"`{program} -l` failed: crontab: your UID isn't in the passwd file."


# --------------------------------------------------------------------------- zones


def test_with_cron_tz_each_line_gets_its_zone_and_the_block_restores_the_users(standin: StandInCrontab) -> None:
    backend = CronBackend(str(standin.program), machine_zone="Europe/Paris", cron_tz=True)
    standin.set(f"CRON_TZ=Asia/Tokyo\n{BEGIN}\n{END}\n0 1 * * * tokyo-job\n".encode())
    install(backend, make_entry("alpha", "monday 09:00", "America/New_York"))
    tag, zone, line, *restore = block_lines(standin)
    assert (tag, zone) == ("# bassi-ci:alpha", "CRON_TZ=America/New_York")
    assert line.startswith("0 9 * * 1 /bin/sh -c ")  # no translation, no guard
    assert restore == ["# bassi-ci: the zone of the lines below", "CRON_TZ=Asia/Tokyo"]
    standin.set(b"")
    install(backend, make_entry("alpha", "monday 09:00", "America/New_York"))
    assert block_lines(standin)[-1] == "CRON_TZ=Europe/Paris"  # nothing set before: the machine's zone
    assert backend.plan_install(make_entry("alpha", "monday 09:00", "America/New_York")).notes == ()


def test_without_cron_tz_a_task_in_the_machine_zone_is_installed_as_is(
    backend: CronBackend, standin: StandInCrontab
) -> None:
    plan = backend.plan_install(make_entry("alpha", "monday 09:00", "Etc/UTC"))  # same offsets as UTC
    assert plan.notes == ()
    backend.apply(plan)
    assert block_lines(standin)[1].startswith("0 9 * * 1 /bin/sh -c ")


def test_without_cron_tz_another_zone_is_translated_and_guarded(
    backend: CronBackend, standin: StandInCrontab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASSI_NOW", "2027-01-10T00:00:00+00:00")
    plan = backend.plan_install(make_entry("alpha", "monday 09:00", "Europe/Berlin"))
    assert plan.notes and "no CRON_TZ" in plan.notes[0] and "'0 7,8 * * 1'" in plan.notes[0]
    backend.apply(plan)
    line = block_lines(standin)[1]
    fields, command = line.split(" ", 5)[:5], line.split(" ", 5)[5]
    assert " ".join(fields) == "0 7,8 * * 1"
    guard, _, rest = command.partition(" && ")
    assert shlex.split(guard)[1:] == [
        "-m",
        "bassi_ci.scheduling.due",
        "--schedule",
        "monday 09:00",
        "--tz",
        "Europe/Berlin",
    ]
    assert shlex.split(rest.replace("\\%", "%")) == list(make_entry("alpha").command)
    assert backend.status("alpha").command == make_entry("alpha").command
    # The guard itself, run as cron would at both machine-zone wakings of one Monday in winter.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = shlex.split(guard)
    winter_run = subprocess.run(argv, env={**env, "BASSI_NOW": "2027-01-11T08:00:10+00:00"}, check=False)
    winter_extra = subprocess.run(argv, env={**env, "BASSI_NOW": "2027-01-11T07:00:10+00:00"}, check=False)
    assert (winter_run.returncode, winter_extra.returncode) == (0, 1)


def runs_in_2027(schedule: str, zone: str) -> list[datetime]:
    """The task's fire times in 2027 (its own zone's year), fetched a batch at a time."""
    runs: list[datetime] = []
    after = datetime(2026, 12, 30, tzinfo=UTC)
    while after.year < 2028:
        batch = next_runs(parse_schedule(schedule), zone, after, 500)
        runs += [run for run in batch if run.year == 2027]
        after = batch[-1]
    return runs


def _wall(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("schedule", "task_zone", "machine_zone"),
    [
        ("monday 09:00", "Europe/Berlin", "UTC"),
        ("daily 23:30", "America/New_York", "UTC"),  # crosses midnight into the next day
        ("monthly 31 23:00", "America/New_York", "Europe/Berlin"),  # into the next month
        ("0 0 1 1 *", "Pacific/Auckland", "America/Los_Angeles"),  # back into the previous year
        ("30 2 * * *", "Europe/Berlin", "America/New_York"),  # 02:30 does not exist in March
        ("every 3h", "Asia/Kolkata", "Europe/London"),  # a half-hour offset against a DST zone
        ("0 9 1,15 * 1", "Australia/Sydney", "UTC"),  # cron's OR of the day fields
        ("45 0 * * 1-5", "Asia/Tokyo", "UTC"),  # weekdays move back a day
    ],
)
def test_the_machine_zone_line_wakes_at_every_fire_time_and_the_guard_picks_them(
    schedule: str, task_zone: str, machine_zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Oracle: croniter says the machine-zone expression matches each of the task's fire times
    over a year (as machine wall times), and the due-guard says each is due."""
    monkeypatch.setenv("BASSI_NOW", "2027-01-01T00:00:00+00:00")
    expressions = machine_expressions(schedule, task_zone, machine_zone)
    assert expressions is not None
    runs = runs_in_2027(schedule, task_zone)
    assert runs
    missed = [run for run in runs if not any(croniter.match(e, _wall(run, machine_zone)) for e in expressions)]
    assert missed == [], f"{expressions} miss {missed[:3]}"
    for run in runs[:: max(1, len(runs) // 200)]:
        assert is_due(schedule, task_zone, run.astimezone(UTC) + timedelta(seconds=20))


def test_zones_with_the_same_offsets_all_year_need_no_translation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSI_NOW", "2027-06-01T00:00:00+00:00")
    assert machine_expressions("daily 09:00", "Europe/Paris", "Europe/Berlin") is None
    assert machine_expressions("daily 09:00", "Europe/Paris", "Europe/London") == ("0 8 * * *",)


def machine_expressions(schedule: str, task_zone: str, machine_zone: str) -> tuple[str, ...] | None:
    """The machine-zone lines' expressions the backend installs; None when the task's own runs as is."""
    times = machine_times(parse_schedule(schedule), task_zone, machine_zone, clock.now())
    return None if times.exact else times.expressions


@requires("cron")
def test_debian_cron_is_detected_as_having_no_cron_tz() -> None:
    """Debian's vixie cron has no CRON_TZ (crontab(5) does not know it; FEATURES: "TZ ... cron
    ignores it"), so this machine's daemon must not be trusted with it."""
    daemon = shutil.which("cron")
    assert daemon is not None and b"CRON_TZ" not in Path(daemon).read_bytes()
    assert supports_cron_tz() is False


# --------------------------------------------------------------------------- line marks cron does not split at

# Characters str.splitlines() splits at but cron keeps inside a line (git allows them in file names).
NOT_NEWLINES = ["\u2028", "\u2029", "\x85"]


@pytest.mark.parametrize("mark", NOT_NEWLINES)
def test_a_workdir_with_a_unicode_line_mark_never_becomes_a_second_cron_line(
    backend: CronBackend, standin: StandInCrontab, mark: str
) -> None:
    # A hostile repository's task works in a folder whose name carries a job after a line mark.
    workdir = Path(f"/srv/repo/x{mark}* * * * * touch /tmp/pwned #")
    evil = replace(make_entry("evil"), workdir=workdir, command=scheduled_command("evil", workdir, ENV_FILE))
    install(backend, evil)
    install(backend, make_entry("other"))  # rewriting the block must keep the line whole
    backend.apply(backend.plan_enable(make_entry("other"), False))
    lines = standin.content().decode().split("\n")  # cron splits at "\n" and nowhere else
    assert not [line for line in lines if line.startswith("* * * * * touch")]
    assert backend.status("evil").command == evil.command


@pytest.mark.parametrize("mark", NOT_NEWLINES)
def test_a_foreign_line_holding_a_line_mark_and_the_marker_stays_foreign(
    backend: CronBackend, standin: StandInCrontab, mark: str
) -> None:
    foreign = f"0 1 * * * echo hi{mark}{BEGIN}\n0 2 * * * echo{mark}{END}\n".encode()
    standin.set(foreign)
    install(backend, make_entry("alpha"))
    backend.apply(backend.plan_uninstall("alpha"))
    assert standin.content() == foreign


# --------------------------------------------------------------------------- real concurrent writers

_WRITER = """
import sys, time
from pathlib import Path
from bassi_ci.scheduling.base import Entry
from bassi_ci.scheduling.cron import CronBackend

program, task_id, go = sys.argv[1:]
backend = CronBackend(program, machine_zone="UTC", cron_tz=False)
entry = Entry(task_id, "daily 09:00", "UTC", ("/bin/true",), Path("/tmp"), Path("/tmp"))
plan = backend.plan_install(entry)  # every writer plans on the same crontab
while not Path(go).exists():
    time.sleep(0.001)
backend.apply(plan)
"""


def test_bassi_processes_writing_the_crontab_at_once_lose_no_task(standin: StandInCrontab, tmp_path: Path) -> None:
    standin.set(FOREIGN)
    go = tmp_path / "go"
    task_ids = [f"task-{number}" for number in range(8)]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(standin.program), task_id, str(go)],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for task_id in task_ids
    ]
    time.sleep(1.0)  # let every writer import and plan
    go.touch()
    errors = [writer.communicate(timeout=60)[1] for writer in writers]
    assert errors == [""] * len(writers)
    crontab = parse_crontab(standin.content().decode("utf-8", "surrogateescape"))
    assert sorted(crontab.entries) == task_ids
    assert foreign_part(standin) == FOREIGN


@pytest.mark.parametrize("workdir", [r"/srv/100\%", "/srv/a\\\\b"])
def test_a_backslash_cron_would_read_as_an_escape_is_refused(
    backend: CronBackend, standin: StandInCrontab, workdir: str
) -> None:
    command = scheduled_command("alpha", Path(workdir), ENV_FILE)
    entry = replace(make_entry("alpha"), workdir=Path(workdir), command=command)
    with pytest.raises(SchedulerError, match="cron cannot carry"):
        backend.plan_install(entry)
    assert standin.calls() == []
