"""A click group that imports a sub-command's module only when that command is used.

This is where bassi's start-up speed is kept (click's documented LazyGroup pattern):
command modules import what they need at the top, as any module does, and `bassi schedule
list` never loads the agent loop, git or the generators. The group's own help lists each
command with a summary kept beside its import path, so `bassi --help` imports none of them
either (tests/commands/test_lazy.py checks each summary against the command's own help).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class LazyCommand:
    target: str  # "module:attribute" of the click command
    summary: str | None  # the first sentence of its help; None: a hidden command


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy_commands: Mapping[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_commands])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = self.lazy_commands.get(cmd_name)
        if lazy is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = lazy.target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{lazy.target} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, lazy.summary) for name, lazy in sorted(self.lazy_commands.items()) if lazy.summary]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
