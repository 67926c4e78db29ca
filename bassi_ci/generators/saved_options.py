"""The generator options a repository's CI files were made with, kept in `.bassi/ci-generate.yaml`.

Without it, `ci generate --check` (or a later plain `ci generate`) renders with the defaults
and reports drift, or silently rewrites the files, in a repository generated with, say, a
custom `--install-command`. So a generate stores, per target, every option it was given that
differs from the default, and later runs read them back; an option on the command line wins
(and is stored: the last generate decides). Only options that differ from the defaults are
kept, so a repository on the defaults has no such file, and a new default reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bassi_ci.fsutil import atomic_write_text
from bassi_ci.generators.files import GenerateError, dump_yaml

OPTIONS_FILE = ".bassi/ci-generate.yaml"
HEADER = (
    "# The options 'bassi ci generate' was given that differ from the defaults, per target.\n"
    "# A later 'bassi ci generate' or '--check' without them uses these; an option given on the\n"
    "# command line wins and is kept here. Commit this file with the generated CI files.\n"
)

Options = dict[str, dict[str, str]]  # target → option name (as on the command line, no dashes) → value


def options_path(out: Path) -> Path:
    return out / OPTIONS_FILE


def load_options(out: Path, known: Mapping[str, Mapping[str, str]]) -> Options:
    """The stored options (none without a file); `known` maps each target to its options' defaults."""
    path = options_path(out)
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GenerateError(f"{path}: cannot be read ({_first_line(exc)}); fix or delete it") from None
    return _checked(path, data, known)


def _checked(path: Path, data: Any, known: Mapping[str, Mapping[str, str]]) -> Options:
    """The file's content, or a one-line error naming what is wrong in it."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GenerateError(f"{path}: expected a mapping of targets ({', '.join(known)}); fix or delete it")
    options: Options = {}
    for target, values in data.items():
        if target not in known:
            raise GenerateError(f"{path}: unknown target '{target}' (expected {', '.join(known)}); fix or delete it")
        if values is None:  # a target whose options were all deleted by hand
            continue
        if not isinstance(values, dict):
            raise GenerateError(f"{path}: {target}: expected a mapping of options; fix or delete it")
        for name, value in values.items():
            if name not in known[target]:
                expected = ", ".join(known[target])
                raise GenerateError(
                    f"{path}: {target}: '{name}' is not an option of this target (expected {expected}); "
                    "fix or delete it"
                )
            if not isinstance(value, str):
                raise GenerateError(f"{path}: {target}: {name} must be a text (quote it); fix or delete it")
        options[target] = dict(values)
    return options


def updated(options: Options, target: str, given: Mapping[str, str], defaults: Mapping[str, str]) -> Options:
    """`options` after a generate for `target` with `given`: what differs from the defaults."""
    merged = {**options.get(target, {}), **given}
    kept = {name: merged[name] for name in defaults if name in merged and merged[name] != defaults[name]}
    result = {name: values for name, values in options.items() if name != target}
    if kept:
        result[target] = kept
    return {name: result[name] for name in sorted(result)}


def save_options(out: Path, options: Options) -> bool:
    """Write the options (remove the file when none are left); True if the file changed."""
    path = options_path(out)
    text = HEADER + dump_yaml(options) if options else None
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if text == current:
        return False
    if text is None:
        path.unlink()
    else:
        atomic_write_text(path, text)
    return True


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
