"""The cron backend: one line per task inside one marked block of the user's crontab.

    # >>> bassi-ci (managed; do not edit) >>>
    # bassi-ci:weekly-report
    0 9 * * 1 /bin/sh -c '… exec /usr/bin/python3 -m bassi_ci execute --ci weekly-report'
    # bassi-ci:nightly (paused)
    #30 2 * * * /bin/sh -c '…'
    # <<< bassi-ci <<<

The crontab is read with `crontab -l` and written with `crontab -` (the program is injectable).
Everything outside the block is kept byte for byte (comments, `VAR=value` lines, `%` signs,
other tools' blocks, odd bytes, a missing final newline): the text is split around the block
and joined again, never re-formatted. A new block goes at the top, so the user's own `SHELL=`,
`PATH=` or `MAILTO=` lines (which cron applies only to the lines below them) do not change
bassi's jobs, and removing the last task gives back the original text exactly. A paused task
stays in the block as a commented-out line, so resuming restores it.

Concurrent edits: a plan records the crontab it was made from; applying re-reads the crontab
just before writing and writes only over that same text. When it changed meanwhile, the
plan's own changes (the task lines that differ) are made again on the new text, a few times
at most, then a one-line SchedulerError says so; nobody's edit is overwritten. crontab(1)
has no lock, so bassi's own writers take one (BASSI_HOME/locks/crontab.lock) around that
re-read and write; the window that remains, for `crontab -e` or a bassi with another
BASSI_HOME, is the few milliseconds between the re-read and `crontab -` replacing the file.

Time zones. cronie (Fedora, Arch, RHEL) reads `CRON_TZ=<zone>` and runs the lines below it in
that zone, so each task gets its own `CRON_TZ=` line and the block ends by restoring the zone
that was in effect before it. Debian's and Ubuntu's cron (vixie cron 3.0pl1) does not: its
crontab(5) says nothing of CRON_TZ and its FEATURES file says "TZ can be set, but cron ignores
it", and the daemon contains no "CRON_TZ" string. Support is therefore detected by looking for
that string in the installed daemon. Without it, a task whose zone has the machine's offsets
all year is installed as is; any other task is installed at every machine-zone wall time it
can fall on across the next years (`zoneshift.machine_times`, shared with launchd: its times
shifted by each offset difference between the zones, plus the ends of its zone's DST gaps; one
crontab line per expression) and runs `<due-guard> && <command>`: the guard
(`bassi_ci.scheduling.due`) lets the job through only at the task's own fire times, so the
task runs right through every DST change of both zones with no re-install. The plan carries
a note saying so, for `show` and `debug`. One limit remains: when the machine's clock falls
back, Debian cron does not run a fixed-time line a second time in the repeated hour, so a
task time that lands on the second occurrence of that hour is missed once a year.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bassi_ci import clock
from bassi_ci.errors import ScheduleError
from bassi_ci.home import bassi_home
from bassi_ci.schedules import parse_schedule, to_cron, validate_timezone
from bassi_ci.scheduling.base import MARKER, Entry, Plan, SchedulerError, Status, bassi_argv
from bassi_ci.scheduling.due import guard_argv
from bassi_ci.scheduling.zoneshift import machine_times
from bassi_ci.tasks.model import SLUG_RE

BEGIN = f"# >>> {MARKER} (managed; do not edit) >>>"
END = f"# <<< {MARKER} <<<"
TAG = f"# {MARKER}:"  # "# bassi-ci:<id>", then " (paused)" when the line below is commented out
PAUSED = " (paused)"
# The block's last lines when it set CRON_TZ: the zone of the user's lines below it.
RESTORE = f"# {MARKER}: the zone of the lines below"
ATTEMPTS = 5  # reads and writes tried while the crontab keeps changing under us
LOCK_TIMEOUT_S = 30

_CRON_TZ_LINE = re.compile(r"[ \t]*CRON_TZ[ \t]*=[ \t]*(?P<value>.*?)[ \t]*")
_DAEMONS = ("/usr/sbin/cron", "/usr/sbin/crond", "/usr/bin/crond")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# cron (Vixie's do_command.c, and so Debian's and cronie) turns "\%" into "%" and "\\" into
# "\" before the shell sees the line, and bassi writes "%" as "\%"; so a value's backslash
# right before a "%" or another backslash would reach the shell changed (or end the command).
_CRON_ESCAPE = re.compile(r"\\[%\\]")
_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")


class CronBackend:
    """Installs tasks as lines of the user's crontab (see the module docstring)."""

    name = "cron"

    def __init__(
        self, crontab: str = "crontab", *, machine_zone: str | None = None, cron_tz: bool | None = None
    ) -> None:
        self.crontab = crontab
        self.machine_zone = machine_zone or daemon_zone()
        self.cron_tz = supports_cron_tz() if cron_tz is None else cron_tz

    # -- plans (nothing is changed)

    def plan_install(self, entry: Entry) -> Plan:
        check_entry(entry)
        lines, notes = self.entry_lines(entry)
        return self._plan({entry.task_id: lines}, notes)

    def plan_uninstall(self, task_id: str) -> Plan:
        check_task_id(task_id)
        return self._plan({task_id: None}, ())

    def plan_enable(self, entry: Entry, enabled: bool) -> Plan:
        """Comment the line out (pause) or back in (resume); nothing when it is not installed."""
        check_entry(entry)
        if entry.task_id not in parse_crontab(self.read()).entries:
            return Plan(backend=self.name, notes=(f"{entry.task_id} has no line in the crontab; nothing to change",))
        return self.plan_install(replace(entry, enabled=enabled))

    def entry_lines(self, entry: Entry) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The task's lines in the block and the notes a person should see about them."""
        validate_timezone(entry.timezone)
        expression = to_cron(parse_schedule(entry.schedule))
        command = shlex.join(entry.command)
        tag = TAG + entry.task_id + ("" if entry.enabled else PAUSED)
        mark = "" if entry.enabled else "#"
        if self.cron_tz:
            return (tag, f"CRON_TZ={entry.timezone}", f"{mark}{expression} {cron_escape(command)}"), ()
        times = machine_times(parse_schedule(entry.schedule), entry.timezone, self.machine_zone, clock.now())
        if times.exact:
            return (tag, f"{mark}{expression} {cron_escape(command)}"), ()
        guard = shlex.join(guard_argv(bassi_argv()[0], entry.schedule, entry.timezone))
        guarded = cron_escape(f"{guard} && {command}")
        shown = "', '".join(times.expressions)
        note = (
            f"this cron has no CRON_TZ: '{entry.schedule}' ({entry.timezone}) is installed at the"
            f" machine's {self.machine_zone} times '{shown}', and a due-guard runs the task only"
            f" at its own times"
        )
        return (tag, *(f"{mark}{when} {guarded}" for when in times.expressions)), (note,)

    def _plan(self, changes: dict[str, tuple[str, ...] | None], notes: tuple[str, ...]) -> Plan:
        before = self.read()
        after = with_entries(before, changes, self.machine_zone)
        if after == before:
            return Plan(backend=self.name, notes=notes)
        return Plan(
            backend=self.name,
            crontab=after,
            crontab_before=before,
            commands=((self.crontab, "-"),),
            notes=notes,
        )

    # -- changes

    def apply(self, plan: Plan) -> None:
        """Write the plan's crontab over the text it was made from, re-basing on concurrent edits."""
        if plan.crontab is None:
            return
        with crontab_lock():
            self._write_over(plan.crontab_before or "", plan.crontab)

    def _write_over(self, base: str, wanted_text: str) -> None:
        expected, wanted = base, wanted_text
        for _ in range(ATTEMPTS):
            current = self.read()
            if current == expected:
                self.write(wanted)
                return
            expected, wanted = current, rebase(current, base, wanted_text, self.machine_zone)
        raise SchedulerError(
            f"the crontab kept changing while bassi was updating it ({ATTEMPTS} tries); nothing"
            " was written: wait for the other editor to finish and run the command again"
        )

    def has_entry(self, task_id: str) -> bool:
        check_task_id(task_id)
        return task_id in parse_crontab(self.read()).entries

    def status(self, task_id: str) -> Status:
        check_task_id(task_id)
        lines = parse_crontab(self.read()).entries.get(task_id)
        if lines is None:
            return Status(backend=self.name, installed=False, enabled=None)
        line = lines[-1]
        enabled = not lines[0].endswith(PAUSED)
        details = {"line": line, "crontab": f"`{self.crontab} -l`"}
        zone = next((text for text in lines if text.startswith("CRON_TZ=")), None)
        details["zone"] = zone or f"machine zone {self.machine_zone}"
        return Status(backend=self.name, installed=True, enabled=enabled, command=command_of(line), details=details)

    # -- the crontab program

    def read(self) -> str:
        """The current crontab ("" when the user has none)."""
        proc = self._run("-l", text="")
        if proc.returncode == 0:
            return decode(proc.stdout)
        message = first_line(proc.stderr)
        if "no crontab for" in message.lower():
            return ""
        raise SchedulerError(f"`{self.crontab} -l` failed: {message or f'exit {proc.returncode}'}")

    def write(self, text: str) -> None:
        proc = self._run("-", text=text)
        if proc.returncode != 0:
            message = first_line(proc.stderr) or f"exit {proc.returncode}"
            raise SchedulerError(f"`{self.crontab} -` refused the new crontab ({message}); the crontab is unchanged")

    def _run(self, argument: str, text: str) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                [self.crontab, argument], input=encode(text), capture_output=True, check=False, timeout=60
            )
        except FileNotFoundError:
            raise SchedulerError(
                f"the cron backend needs the `{self.crontab}` program, which is not installed;"
                " install cron (Debian/Ubuntu: apt-get install cron) or choose another --backend"
            ) from None
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SchedulerError(f"cannot run `{self.crontab} {argument}`: {exc}") from None


@contextmanager
def crontab_lock() -> Iterator[None]:
    """Serialise bassi's read-compare-write of the crontab between processes of one BASSI_HOME.

    crontab(1) has no lock: without this, two `schedule add` at once both read the same text,
    both find it unchanged and the later write drops the other's task.
    """
    # Lazy: only changes lock; filelock is ~15 ms.
    from filelock import FileLock, Timeout

    lock_path = bassi_home() / "locks" / "crontab.lock"
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S)
        lock.acquire()
    except Timeout:
        raise SchedulerError(
            f"another bassi has been changing the crontab for {LOCK_TIMEOUT_S}s ({lock_path} is"
            " locked); wait for it to finish and run the command again"
        ) from None
    except OSError as exc:
        raise SchedulerError(f"cannot lock {lock_path}: {exc.strerror or exc}") from None
    try:
        yield
    finally:
        lock.release()


# --------------------------------------------------------------------------- checks


def check_task_id(task_id: str) -> None:
    if not SLUG_RE.fullmatch(task_id):
        raise SchedulerError(
            f"task id {task_id!r} cannot go into a crontab line: use lowercase letters, digits and"
            " single hyphens (a slug such as weekly-report)"
        )


def check_entry(entry: Entry) -> None:
    """Refuse anything that could break out of its crontab line or the block's comments."""
    check_task_id(entry.task_id)
    for name, value in (("schedule", entry.schedule), ("timezone", entry.timezone)):
        if _CONTROL.search(value) or "#" in value:
            raise SchedulerError(f"the {name} {value!r} of {entry.task_id} contains a line break or '#'; remove it")
    for value in (*entry.command, str(entry.workdir)):
        if _CONTROL.search(value):
            raise SchedulerError(
                f"the command of {entry.task_id} contains a line break or control character"
                f" ({value!r}); cron runs one line per job, so remove it"
            )
        if _CRON_ESCAPE.search(value):
            raise SchedulerError(
                f"the command of {entry.task_id} holds a backslash before '%' or '\\' ({value!r}), which"
                " cron cannot carry: it reads '\\%' as an escape and ends the command at the '%';"
                " rename the folder or use another --backend"
            )


# --------------------------------------------------------------------------- the block


@dataclass(frozen=True)
class Crontab:
    """A crontab split around bassi's block: foreign text before and after, and the task lines."""

    before: str
    entries: dict[str, tuple[str, ...]]  # task id -> its lines in the block, the tag line first
    after: str


def parse_crontab(text: str) -> Crontab:
    """Split the crontab around the block; a crontab without one gets an empty block at the top."""
    lines = cron_lines(text)
    begins = [index for index, line in enumerate(lines) if line.rstrip("\r\n") == BEGIN]
    ends = [index for index, line in enumerate(lines) if line.rstrip("\r\n") == END]
    if not begins and not ends:
        return Crontab(before="", entries={}, after=text)
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise SchedulerError(
            f"the {MARKER} block of the crontab is damaged ({len(begins)} begin and {len(ends)} end"
            f" lines): fix it with `crontab -e` so that one '{BEGIN}' line comes before one '{END}' line"
        )
    inner = [line.rstrip("\r\n") for line in lines[begins[0] + 1 : ends[0]]]
    before, after = "".join(lines[: begins[0]]), "".join(lines[ends[0] + 1 :])
    return Crontab(before=before, entries=_entries(inner), after=after)


def cron_lines(text: str) -> list[str]:
    """The crontab's lines as cron sees them, each with its newline (the last may have none).

    Split at "\\n" only, never with str.splitlines: that also splits at U+2028, U+0085, \\v
    and other marks that cron keeps inside a line, so a task line holding one (a workdir
    named with it) would be written back as two lines, the second a job of whoever chose
    the name.
    """
    return _LINE.findall(text)


def _entries(inner: list[str]) -> dict[str, tuple[str, ...]]:
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    restoring = False  # after RESTORE: the block's closing CRON_TZ, rebuilt on every write
    for line in inner:
        if line == RESTORE:
            current, restoring = None, True
        elif restoring and _CRON_TZ_LINE.fullmatch(line):
            continue
        elif line.startswith(TAG):
            restoring = False
            task_id = line.removeprefix(TAG).removesuffix(PAUSED)
            current = entries.setdefault(task_id, [])
            current.append(line)
        elif current is not None:
            current.append(line)
        elif line.strip():
            raise SchedulerError(
                f"the {MARKER} block of the crontab has a line bassi did not write ({line!r});"
                " move it out of the block with `crontab -e`"
            )
    return {task_id: tuple(lines) for task_id, lines in entries.items()}


def render_crontab(crontab: Crontab, machine_zone: str) -> str:
    """The whole text: foreign text unchanged around the block; no block when it is empty."""
    if not crontab.entries:
        return crontab.before + crontab.after
    body = [line for lines in crontab.entries.values() for line in lines]
    if any(line.startswith("CRON_TZ=") for line in body):
        body += [RESTORE, f"CRON_TZ={zone_in_effect(crontab.before) or machine_zone}"]
    block = "\n".join([BEGIN, *body, END]) + "\n"
    return crontab.before + block + crontab.after


def with_entries(text: str, changes: dict[str, tuple[str, ...] | None], machine_zone: str) -> str:
    """The crontab with some tasks' lines set (a tuple) or removed (None)."""
    crontab = parse_crontab(text)
    entries = dict(crontab.entries)
    for task_id, lines in changes.items():
        if lines is None:
            entries.pop(task_id, None)
        else:
            entries[task_id] = lines
    return render_crontab(replace(crontab, entries=entries), machine_zone)


def rebase(current: str, base: str, wanted: str, machine_zone: str) -> str:
    """Make on `current` the task changes that turned `base` into `wanted`."""
    old, new = parse_crontab(base).entries, parse_crontab(wanted).entries
    changed = {task_id for task_id in old.keys() | new.keys() if old.get(task_id) != new.get(task_id)}
    return with_entries(current, {task_id: new.get(task_id) for task_id in changed}, machine_zone)


def zone_in_effect(text: str) -> str | None:
    """The last CRON_TZ the user's lines set, which the lines after the block expect."""
    zone = None
    for line in text.split("\n"):
        match = _CRON_TZ_LINE.fullmatch(line)
        if match:
            zone = match["value"].strip("'\"")
    return zone


def cron_escape(command: str) -> str:
    """cron turns an unescaped `%` into a newline (and the rest into stdin)."""
    return command.replace("%", "\\%")


def command_of(line: str) -> tuple[str, ...]:
    """The argv of a block line (the task's command, after any due-guard)."""
    words = line.lstrip("#").split(None, 5)
    if len(words) < 6:
        return ()
    lexer = shlex.shlex(words[5].replace("\\%", "%"), posix=True, punctuation_chars="&")
    lexer.whitespace_split = True
    tokens = list(lexer)
    return tuple(tokens[tokens.index("&&") + 1 :] if "&&" in tokens else tokens)


def first_line(stderr: bytes) -> str:
    lines = decode(stderr).strip().splitlines()
    return lines[0].strip() if lines else ""


def encode(text: str) -> bytes:
    # surrogateescape: bytes that are not UTF-8 go back out exactly as they came in.
    return text.encode("utf-8", "surrogateescape")


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- zones


def supports_cron_tz() -> bool:
    """Whether the installed cron daemon knows CRON_TZ (cronie does; Debian's cron does not)."""
    candidates = [*_DAEMONS, shutil.which("crond"), shutil.which("cron")]
    for path in filter(None, candidates):
        try:
            if b"CRON_TZ" in Path(path).read_bytes():
                return True
        except OSError:
            continue
    return False


def daemon_zone() -> str:
    """The zone the cron daemon runs in: the system's (/etc/localtime), not this shell's TZ."""
    for candidate in (_localtime_link(), _etc_timezone()):
        try:
            if candidate:
                validate_timezone(candidate)
                return candidate
        except ScheduleError:
            continue
    return "UTC"


def _localtime_link() -> str:
    try:
        target = str(Path("/etc/localtime").readlink())
    except OSError:
        return ""
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""


def _etc_timezone() -> str:
    try:
        return Path("/etc/timezone").read_text().strip()
    except OSError:
        return ""
