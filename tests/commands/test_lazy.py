"""The lazy command groups: each command's summary in `--help` is its own, and listing the
commands imports none of them."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from bassi_ci.cli import cli
from bassi_ci.commands.lazy import LazyGroup

GROUPS = {"bassi": cli, "bassi ci": cli.get_command(click.Context(cli), "ci")}


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_each_summary_is_the_first_sentence_of_the_commands_own_help(name: str) -> None:
    group = GROUPS[name]
    assert isinstance(group, LazyGroup)
    for command_name, lazy in group.lazy_commands.items():
        command = group.get_command(click.Context(group), command_name)
        assert command is not None and command.name == command_name
        if lazy.summary is None:
            assert command.hidden, command_name
        else:
            assert lazy.summary == command.get_short_help_str(limit=10_000), command_name


@pytest.mark.parametrize("args", [["--help"], ["ci", "--help"]])
def test_listing_the_commands_imports_none_of_them(args: list[str]) -> None:
    probe = (
        "import sys\n"
        "from bassi_ci.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith('bassi_ci.commands.')), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = result.stderr.split("LOADED", 1)[1]
    expected = sorted(["bassi_ci.commands.lazy"] + (["bassi_ci.commands.ci"] if args[0] == "ci" else []))
    assert loaded.strip() == repr(expected), result.stderr
