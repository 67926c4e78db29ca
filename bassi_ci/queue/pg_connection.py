"""Connecting to the PostgreSQL queue: the driver (psycopg 3, the optional extra
`bassi-ci[postgres]`, imported only here and only when a PostgreSQL queue is chosen), retries
with back-off while the server cannot be reached, and the one way its errors become bassi's.

Every message names the server by its redacted URL and has the URL's secrets scrubbed out: the
driver quotes the whole URL in some of its errors.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING

from bassi_ci.errors import UsageError
from bassi_ci.queue.location import HIDDEN, URL_FORM, redact_url, url_secrets
from bassi_ci.queue.model import QueueStoreError, QueueUnavailable

if TYPE_CHECKING:
    from psycopg import Connection
    from psycopg.rows import DictRow

# Tries to connect before giving up, the first pause between tries (doubled after each), and
# the limit of one try: about 4 s over 5 tries, enough for a server that restarts or fails over.
TRIES_ENV = "BASSI_QUEUE_CONNECT_TRIES"
DEFAULT_TRIES = 5
FIRST_PAUSE_S = 0.25
MAX_PAUSE_S = 8.0  # many tries (BASSI_QUEUE_CONNECT_TRIES) wait longer in all, never hours between two
CONNECT_TIMEOUT_S = 10
EXTRA_HINT = "pip install 'bassi-ci[postgres]'"


def driver() -> ModuleType:
    """The psycopg module, or a usage error naming the extra that installs it."""
    try:
        import psycopg
    except ImportError:
        raise UsageError(
            f"the PostgreSQL queue needs the driver psycopg 3, which is not installed: {EXTRA_HINT}"
        ) from None
    return psycopg


def connect_tries() -> int:
    """How many times to try connecting ($BASSI_QUEUE_CONNECT_TRIES, default 5)."""
    text = os.environ.get(TRIES_ENV, "").strip()
    if not text:
        return DEFAULT_TRIES
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"{TRIES_ENV}={text!r}: expected a whole number of tries, 1 or more")
    return int(text)


def connect(url: str, tries: int | None = None, first_pause_s: float = FIRST_PAUSE_S) -> Connection[DictRow]:
    """An autocommit connection whose rows are dicts; QueueUnavailable (exit 6) after `tries`."""
    driver()
    import psycopg
    from psycopg.conninfo import make_conninfo
    from psycopg.rows import dict_row

    # libpq waits forever by default (a dropped packet, a firewall); a URL's own limit wins.
    limit = {} if "connect_timeout" in url else {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        conninfo = make_conninfo(url, **limit)
    except psycopg.ProgrammingError as problem:  # libpq cannot read the URL: no use trying again
        raise UsageError(f"queue URL {redact_url(url)}: {_reason(problem, url)}; expected {URL_FORM}") from None
    tries = tries or connect_tries()
    pause, started = first_pause_s, time.monotonic()
    for attempt in range(1, tries + 1):
        try:
            with translated(url):
                return psycopg.connect(conninfo, autocommit=True, row_factory=dict_row)
        except QueueUnavailable as problem:
            if attempt == tries:
                waited = time.monotonic() - started
                raise QueueUnavailable(
                    f"{problem} (gave up after {tries} tries in {waited:.1f} s; is the server up?)"
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE_S)
    raise AssertionError("unreachable: the last try returns or raises")


@contextmanager
def translated(url: str) -> Iterator[None]:
    """psycopg's errors as bassi's: a server that cannot be reached (down, refused, unknown host,
    refused login, connection lost) is QueueUnavailable (exit 6), anything else QueueStoreError."""
    driver()
    import psycopg

    where = f"the PostgreSQL queue at {redact_url(url)}"
    try:
        yield
    except psycopg.OperationalError as problem:
        raise QueueUnavailable(f"cannot reach {where}: {_reason(problem, url)}") from None
    except psycopg.Error as problem:
        raise QueueStoreError(f"cannot use {where}: {_reason(problem, url)}") from None


def _reason(problem: Exception, url: str) -> str:
    """The first line of the driver's message (the rest are hints), without the URL's secrets."""
    lines = [line.strip() for line in str(problem).splitlines() if line.strip()]
    text = lines[0] if lines else type(problem).__name__
    for secret in url_secrets(url):
        text = text.replace(secret, HIDDEN)
    return text.removeprefix("connection failed: ")
