"""The text of a task's systemd user units: `bassi-<id>.timer` and `bassi-<id>.service`.

Pure functions, no I/O; `systemd` installs what these render.

* Every value that reaches a unit file is either a validated slug, an IANA zone name, the
  canonical schedule text, or quoted here per systemd.syntax(7) "Quoting" and
  systemd.service(5) "Command lines": each ExecStart= argument in double quotes with C
  escapes, `%` doubled (specifiers are expanded before the line is split) and `$` doubled
  (environment substitution runs on the split words). A value that cannot be written safely
  (a control character in a path, say) is refused, never written half-escaped.
* Output goes to the journal (`journalctl --user -u bassi-<id>.service`): systemd rotates it,
  and bassi's own run history already keeps each run's result and log. The entry's log_dir
  is not used by this backend.
* **DST bridge.** systemd skips a wall time that does not exist (the spring-forward gap) on
  that day; bassi's policy runs it at the end of the gap. The timer therefore carries extra
  one-off `OnCalendar=` lines, in UTC, at each instant where the engine runs and systemd
  would not, for BRIDGE_HORIZON from install time (a `once` in a gap is bridged whatever its
  date). `bassi schedule install` and `edit` re-install, which extends the horizon.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

from bassi_ci.schedules import Once, Schedule, next_runs, parse_schedule, systemd_timer_spec, validate_timezone
from bassi_ci.schedules.model import calendar_expression
from bassi_ci.schedules.nextrun import wall_to_instant
from bassi_ci.scheduling.base import MARKER, Entry, SchedulerError
from bassi_ci.tasks.model import SLUG_MAX, SLUG_RE

# Two years of bridged DST gaps; every re-install (install, edit) starts a new two years.
BRIDGE_HORIZON = timedelta(days=731)
# Offsets are sampled this often to find zone transitions; no zone changes twice in 6 hours.
_SCAN_STEP = timedelta(hours=6)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The C escapes systemd.syntax(7) defines, for the characters a double-quoted word needs escaped.
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def unit_stem(task_id: str) -> str:
    """`bassi-<id>`, after refusing any id that could reach past a unit name or a unit file line."""
    if not SLUG_RE.match(task_id) or len(task_id) > SLUG_MAX:
        raise SchedulerError(
            f"task id {task_id!r} cannot name a systemd unit: use lower-case letters, digits"
            " and single hyphens (e.g. 'weekly-report')"
        )
    return f"bassi-{task_id}"


def marker_line(task_id: str) -> str:
    """The first line of every unit bassi writes; a unit without it is never touched."""
    return f"# {MARKER} task={task_id}: written by bassi schedule install; edit the task, not this file"


def is_ours(text: str, task_id: str) -> bool:
    """Whether a unit file's text carries bassi's marker for this task."""
    return marker_line(task_id) in text.splitlines()


def render_timer(entry: Entry, now: datetime) -> str:
    """The .timer unit: the schedule in the task's zone, plus the DST bridge from `now` on."""
    stem = unit_stem(entry.task_id)
    schedule = parse_schedule(entry.schedule)
    _refuse_control(entry.schedule, "the schedule")
    spec = systemd_timer_spec(schedule, entry.timezone)
    lines = [
        marker_line(entry.task_id),
        f"# schedule: {schedule.text} ({entry.timezone})",
        "[Unit]",
        f"Description=bassi task {entry.task_id}",
        "",
        "[Timer]",
    ]
    lines += [f"{key}={value}" for key, value in spec.items()]
    if "OnCalendar" in spec:
        until = now + BRIDGE_HORIZON
        bridged = bridge_instants(schedule, entry.timezone, now, until)
        lines += [f"OnCalendar={instant:%Y-%m-%d %H:%M:%S} UTC" for instant in bridged]
        if bridged:
            lines.append(f"# UTC lines: wall times in a DST gap, run at its end as bassi does; until {until:%Y-%m-%d}")
        lines.append("Persistent=true")  # a run missed while the machine was off runs at the next start
    lines += [
        "AccuracySec=1s",  # the default (1 min) may start a 09:00 run at 09:00:59
        f"Unit={stem}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]
    return "\n".join(lines) + "\n"


def render_service(entry: Entry) -> str:
    """The .service unit: a oneshot that runs the entry's command in its workdir."""
    stem = unit_stem(entry.task_id)
    return "\n".join(
        [
            marker_line(entry.task_id),
            f"# output: journalctl --user -u {stem}.service",
            "[Unit]",
            f"Description=bassi task {entry.task_id}",
            "",
            "[Service]",
            "Type=oneshot",
            f"WorkingDirectory={_unit_path(str(entry.workdir), 'the workdir')}",
            f"ExecStart={exec_line(entry.command)}",
            f"SyslogIdentifier={stem}",
            "",
        ]
    )


def exec_line(argv: tuple[str, ...]) -> str:
    """An ExecStart= value that systemd splits back into exactly `argv`."""
    if not argv or not argv[0].startswith("/"):
        raise SchedulerError(f"the scheduled command must start with an absolute path, got {argv[:1]!r}")
    _refuse_control(argv[0], "the scheduled program's path")
    return " ".join(_quote_word(word) for word in argv)


def split_exec_line(value: str) -> tuple[str, ...] | None:
    """The argv of an ExecStart= value written by exec_line, or None for anything else."""
    words = re.findall(r'"((?:[^"\\]|\\.)*)"(?: |$)', value)
    if " ".join(f'"{word}"' for word in words) != value:
        return None
    unescape = {v: k for k, v in _ESCAPES.items()}
    return tuple(
        re.sub(r"\\x([0-9a-f]{2})|\\.", lambda m: chr(int(m[1], 16)) if m[1] else unescape[m[0]], word)
        .replace("%%", "%")
        .replace("$$", "$")
        for word in words
    )


def _quote_word(word: str) -> str:
    escaped = "".join(_ESCAPES.get(char) or (f"\\x{ord(char):02x}" if _CONTROL.match(char) else char) for char in word)
    return '"' + escaped.replace("%", "%%").replace("$", "$$") + '"'


def _unit_path(path: str, what: str) -> str:
    """A path as a unit setting that is not split into words: specifiers doubled, nothing else."""
    _refuse_control(path, what)
    if not path.startswith("/") or path != path.strip() or path.endswith("\\"):
        raise SchedulerError(
            f"{what} {path!r} cannot be written into a systemd unit (it must be absolute, without"
            " leading or trailing spaces or backslash); move it or use --backend cron"
        )
    return path.replace("%", "%%")


def _refuse_control(text: str, what: str) -> None:
    if _CONTROL.search(text):
        raise SchedulerError(f"{what} {text!r} holds a control character, which a systemd unit cannot carry; rename it")


def bridge_instants(schedule: Schedule, zone_name: str, start: datetime, end: datetime) -> list[datetime]:
    """The instants where the engine runs the schedule and systemd's calendar would not.

    systemd drops a wall time inside a spring-forward gap; the engine runs it at the gap's
    end. So: at every forward transition in [start, end), if the engine runs exactly at the
    transition and the wall clock there is not itself a match of the pattern (then systemd
    would run it too), that instant needs its own OnCalendar= line.
    """
    zone = validate_timezone(zone_name)
    if isinstance(schedule, Once):
        instant = wall_to_instant(schedule.at, zone)
        return [instant] if instant.astimezone(zone).replace(tzinfo=None) != schedule.at else []
    expression = calendar_expression(schedule)
    if expression is None:
        return []  # fixed steps ignore DST, and run on monotonic timers
    bridged = []
    for transition in forward_transitions(zone, start, end):
        runs = next_runs(schedule, zone_name, transition - timedelta(seconds=1), 1)
        if runs and runs[0] == transition and not _matches(expression, transition.astimezone(zone)):
            bridged.append(transition)
    return bridged


def _matches(expression: str, local: datetime) -> bool:
    wall = local.replace(tzinfo=None)
    return next(iter(CronSim(expression, wall - timedelta(minutes=1))), None) == wall


def forward_transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The UTC instants in [start, end) where the zone's clocks jump forward (a wall-time gap)."""
    found = []
    low = start.astimezone(UTC)
    while low < end:
        high = min(low + _SCAN_STEP, end)
        offset_low, offset_high = low.astimezone(zone).utcoffset(), high.astimezone(zone).utcoffset()
        assert offset_low is not None and offset_high is not None
        if offset_high > offset_low:
            found.append(_first_with_offset(zone, low, high, offset_high))
        low = high
    return found


def _first_with_offset(zone: ZoneInfo, low: datetime, high: datetime, offset: timedelta) -> datetime:
    """The first second in (low, high] at which the zone's offset is already `offset`."""
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(zone).utcoffset() == offset:
            high = middle
        else:
            low = middle
    return high
