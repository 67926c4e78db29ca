"""What a scheduled job will find when the OS starts it, read back from what bassi installed:
the interpreter, workdir and env file named in its command, and the variables the env file
sets (`schedule debug`).

The installed command is `/bin/sh -c SCRIPT` (base.scheduled_command), possibly wrapped once
more (launchd's due-guard runs `exec /bin/sh -c SCRIPT`), so the script is read as shell
words rather than taken apart by position: `cd DIR`, `. ENV_FILE`, `exec PROGRAM …`.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bassi_ci.envnames import ALWAYS_SECRET
from bassi_ci.runs.redact import is_secret_name

SHELLS = ("sh", "bash", "dash", "zsh")
_NESTING = 3  # shells within shells looked into, at most
_OPERATOR_CHARS = set("();<>|&")


@dataclass(frozen=True)
class JobParts:
    """What the command names; None where it does not say."""

    executable: str | None  # the program the script finally runs (the Python interpreter)
    workdir: str | None
    env_file: str | None


def job_parts(command: Sequence[str]) -> JobParts:
    """The interpreter, workdir and env file of an installed command."""
    argv, workdir, env_file = list(command), None, None
    for _ in range(_NESTING):
        if not (len(argv) >= 3 and Path(argv[0]).name in SHELLS and argv[1] == "-c"):
            break
        words = _shell_words(argv[2])
        workdir = workdir or _word_after(words, "cd")
        env_file = env_file or _word_after(words, ".")
        argv = _exec_argv(words)
    return JobParts(executable=argv[0] if argv else None, workdir=workdir, env_file=env_file)


def is_executable(path: str | None) -> bool:
    return path is not None and os.path.isfile(path) and os.access(path, os.X_OK)


def read_env_file(path: Path) -> dict[str, str | None]:
    """The variables an env file sets, in order; None for a commented placeholder
    (`# NAME=  (set when this file was written; …)`: named, but the job does not get it).

    Raises OSError when the file cannot be read.
    """
    found: dict[str, str | None] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        text = line.strip()
        placeholder = text.startswith("#")
        name, equals, value = text.lstrip("#").strip().partition("=")
        if not equals or not name.isidentifier():
            continue
        if placeholder:
            found.setdefault(name, None)
            continue
        try:
            found[name] = "".join(shlex.split(value))
        except ValueError:  # an unbalanced quote: /bin/sh would fail on it too
            found[name] = value
    return found


def is_secret(name: str) -> bool:
    """Whether a variable's value is shown only as set/unset (the names bassi redacts)."""
    return name in ALWAYS_SECRET or is_secret_name(name)


def shown_environment(variables: Mapping[str, str | None]) -> dict[str, str]:
    """Each variable as `debug` shows it: its value, or only "set"/"unset" for a secret."""
    shown = {}
    for name, value in variables.items():
        if is_secret(name):
            shown[name] = "set" if value else "unset"
        else:
            shown[name] = value if value is not None else "unset"
    return shown


def _shell_words(script: str) -> list[str]:
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: nothing can be read from it
        return []


def _word_after(words: list[str], word: str) -> str | None:
    for index, candidate in enumerate(words[:-1]):
        if candidate == word and not _is_operator(words[index + 1]):
            return words[index + 1]
    return None


def _exec_argv(words: list[str]) -> list[str]:
    """The words of the first `exec` command, up to the next operator (`;`, `&&`, …)."""
    if "exec" not in words:
        return []
    argv = []
    for word in words[words.index("exec") + 1 :]:
        if _is_operator(word):
            break
        argv.append(word)
    return argv


def _is_operator(word: str) -> bool:
    return bool(word) and set(word) <= _OPERATOR_CHARS
