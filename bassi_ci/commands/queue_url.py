"""`--queue-url URL`: which queue a command uses, the same option on every command that opens it
(`bassi queue …`, `bassi execute --next`, `bassi mcp serve`).

The option has no click `envvar`: click could then show the variable's value, a URL with a
password, as the option's default in --help. `open_store` reads BASSI_QUEUE_URL itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import click

from bassi_ci.envnames import QUEUE_URL_ENV
from bassi_ci.queue.store import QueueStore, open_store

F = TypeVar("F", bound=Callable[..., Any])

HELP = (
    f"A shared PostgreSQL queue: postgresql://USER@HOST/DB (extra bassi-ci[postgres]). Default: ${QUEUE_URL_ENV} "
    "(a URL with a password only there: every process can read command lines), else this machine's queue."
)


def queue_url_option(command: F) -> F:
    """Add `--queue-url URL` (the parameter `queue_url`) to a command."""
    return click.option("--queue-url", "queue_url", metavar="URL", help=HELP)(command)


def store_opener(queue_url: str | None) -> Callable[[], QueueStore]:
    """Opens the queue `--queue-url` chose, each time it is called (a worker's lease keeper opens
    its own connection through it)."""
    return partial(open_store, url=queue_url)
