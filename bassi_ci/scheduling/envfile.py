"""`BASSI_HOME/env`: the environment a scheduled run gets, written once at `schedule add`.

cron, launchd and systemd start jobs with a minimal environment (no PATH beyond /usr/bin:/bin,
no LANG, none of the user's settings): the classic way a job that works in a terminal fails
when scheduled. The scheduled command (`scheduled_command` in base.py) loads this file with
`set -a; . FILE; set +a` under /bin/sh, so every line here is a plain `NAME='value'`
assignment, shell-quoted, and exactly those values are exported.

What goes in: PATH (its absolute entries only), LANG and LC_ALL, BASSI_HOME, and every
`ANTHROPIC_*` setting by name. Only the values known to be harmless (the API address and the
model) are copied; a key, a token or any other `ANTHROPIC_*` value is written as a commented
placeholder naming the setting, unless the caller passes `include_key=True` (the explicit flag
of DESIGN "Local scheduling"), because the file is read by whoever can read BASSI_HOME.

The file is the user's after it is written: `write_env_file` never replaces an existing one
unless forced, and creates it with mode 0600.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

ENV_FILE_NAME = "env"

# The PATH cron gives a job is /usr/bin:/bin; this one is used only when the caller has no PATH.
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
LOCALE_NAMES = ("LANG", "LC_ALL")
# ANTHROPIC_* settings whose values are addresses or names, never credentials.
PUBLIC_ANTHROPIC = ("ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL")
# Names /bin/sh can assign; any other environment name is left out rather than written broken.
_ANTHROPIC_NAME = re.compile(r"ANTHROPIC_[A-Za-z0-9_]+", re.ASCII)

HEADER = """\
# The environment of bassi's scheduled runs, loaded by /bin/sh with `set -a; . THIS_FILE`.
# Written by `bassi schedule add`; it is yours now: bassi never overwrites it.
# Lines are NAME='value' (shell-quoted). Keys are not copied here unless asked for:
# put a key on its commented line, or let the job find it another way.
"""


def env_file_path(home: Path) -> Path:
    """Where the env file of a BASSI_HOME lives."""
    return home / ENV_FILE_NAME


def render_env_file(environ: Mapping[str, str], home: Path, *, include_key: bool = False) -> str:
    """The env file's text for the settings in `environ` (usually os.environ at `add`).

    `include_key` copies the values of secret `ANTHROPIC_*` settings (API key, auth token and
    any other not known to be public); without it they appear only as commented placeholders.
    """
    lines = [HEADER.rstrip("\n")]
    lines.append(_assignment("PATH", absolute_path(environ.get("PATH", ""))))
    lines += [_assignment(name, environ[name]) for name in LOCALE_NAMES if name in environ]
    lines.append(_assignment("BASSI_HOME", str(home)))
    for name in _anthropic_names(environ):
        if name in PUBLIC_ANTHROPIC or include_key:
            lines.append(_assignment(name, environ[name]))
        else:
            lines.append(f"# {name}=  (set when this file was written; the value is not copied)")
    return "\n".join(lines) + "\n"


def absolute_path(path: str) -> str:
    """PATH without its empty and relative entries (DEFAULT_PATH when none is left).

    Those mean "the current folder", and a scheduled run starts in the task's workdir, maybe
    a cloned repository: a `git` or `python3` committed there would run instead of the real
    one. A shell keeps them for the user's own commands; a scheduled job gets none.
    """
    entries = [entry for entry in path.split(os.pathsep) if os.path.isabs(entry)]
    return os.pathsep.join(dict.fromkeys(entries)) or DEFAULT_PATH


def write_env_file(path: Path, content: str, *, force: bool = False) -> bool:
    """Create the file with mode 0600; True when written, False when one already exists.

    An existing file is left alone unless `force`: the user may have added a key or changed
    PATH by hand. The content goes to a private temporary file first, then is linked into
    place (which fails rather than replaces when the file appeared meanwhile) or, with
    `force`, renamed over it, so a reader never sees half a file.
    """
    if path.exists() and not force:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _write_private(temporary, content)
    try:
        if force:
            os.replace(temporary, path)
            return True
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)


def _write_private(path: Path, content: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an odd umask may have taken bits off; never more than the owner's
    with open(descriptor, "w", encoding="utf-8") as stream:
        stream.write(content)


def _anthropic_names(environ: Mapping[str, str]) -> list[str]:
    return sorted(name for name in environ if _ANTHROPIC_NAME.fullmatch(name))


def _assignment(name: str, value: str) -> str:
    return f"{name}={shlex.quote(value)}"
