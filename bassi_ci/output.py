"""All output for people and scripts goes through here, so tests can capture it
and colour appears only on a terminal (rich decides; NO_COLOR is honoured)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click


def echo(text: str = "") -> None:
    click.echo(text)


def note(text: str) -> None:
    """A remark for people that scripts should not parse: goes to stderr."""
    click.echo(text, err=True)


def print_json(data: Any) -> None:
    """Stable JSON for scripts: sorted keys are not used, field order is part of the contract."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    """A readable table; imports rich only when a table is really printed."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=None, header_style="bold", pad_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(file=sys.stdout, highlight=False, soft_wrap=False).print(table)


def print_fields(pairs: Sequence[tuple[str, str]]) -> None:
    """'key: value' lines with the keys aligned."""
    width = max((len(key) for key, _ in pairs), default=0)
    for key, value in pairs:
        click.echo(f"{key + ':':<{width + 1}} {value}")
