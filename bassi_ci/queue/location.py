"""Where the queue lives: the SQLite file of this machine, or a PostgreSQL server that many
machines share (`--queue-url`, else BASSI_QUEUE_URL).

A queue URL usually holds a password, so it is shown only through `redact_url`, in every
message, whoever prints it. Nothing here imports the PostgreSQL driver.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit, urlunsplit

from bassi_ci.envnames import QUEUE_URL_ENV
from bassi_ci.errors import UsageError

POSTGRES_SCHEMES = ("postgresql", "postgres")
URL_FORM = "postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE (or postgres://…)"
HIDDEN = "***"
# libpq's connection parameters that are secrets when given in the URL's query.
_SECRET_PARAMETERS = ("password", "sslpassword")


def postgres_url(explicit: str | None = None) -> str | None:
    """The PostgreSQL URL to use (`explicit`, else $BASSI_QUEUE_URL), or None for SQLite.

    Any other scheme is a usage error rather than a silent fall-back to this machine's queue:
    workers that think they share a queue and do not would each run the same work."""
    source = "--queue-url" if explicit is not None else QUEUE_URL_ENV
    url = (explicit if explicit is not None else os.environ.get(QUEUE_URL_ENV, "")).strip()
    if not url:
        return None
    scheme, separator, _ = url.partition("://")
    if not separator or scheme.lower() not in POSTGRES_SCHEMES:
        raise UsageError(
            f"{source} {redact_url(url)!r}: expected {URL_FORM}; "
            f"leave {QUEUE_URL_ENV} unset for the queue in BASSI_HOME/state.db"
        )
    _check_one_user_part(source, url)
    if explicit is not None and url_secrets(url):
        raise UsageError(
            f"--queue-url {redact_url(url)}: a password on the command line can be read by every process on "
            f"this machine (ps, /proc/<pid>/cmdline), the agent's commands too; put the URL in {QUEUE_URL_ENV} "
            "instead (bassi hides it from the agent)"
        )
    return url


def _check_one_user_part(source: str, url: str) -> None:
    """The only '@' of a URL is the one that ends its user part. libpq ends the user part at the
    first '@', Python's urlsplit at the last one (and an unencoded / ? or # ends it earlier still):
    with a second '@' neither redaction nor the driver's messages would know the password."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:  # not a URL at all: libpq says why, redaction shows none of it
        return
    if url.count("@") == 0 or (url.count("@") == 1 and "@" in netloc):
        return
    raise UsageError(
        f"{source} {redact_url(url)}: '@' may appear once, before the host; percent-encode the user name's "
        "and the password's @ / ? # : (e.g. @ as %40)"
    )


def redact_url(url: str) -> str:
    """`url` with its password (in the user part or the query) replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not even a URL: show none of it
        return HIDDEN
    scheme, _, rest = url.partition("://")
    if "@" in rest and "@" not in parts.netloc:  # an unencoded / ? or # in the password: show none of it
        return f"{scheme}://{HIDDEN}@{redact_url(rest.rpartition('@')[2])}"
    netloc = parts.netloc
    if password is not None:
        user_part, _, hosts = netloc.rpartition("@")
        netloc = f"{user_part.partition(':')[0]}:{HIDDEN}@{hosts}"
    return urlunsplit(parts._replace(netloc=netloc, query=_redact_query(parts.query)))


def url_secrets(url: str) -> list[str]:
    """The secret values in `url` (as written and percent-decoded), to scrub from a driver's
    messages that might quote them."""
    try:
        parts = urlsplit(url)
        found = [parts.password] if parts.password else []
    except ValueError:
        return [url]
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if name.lower() in _SECRET_PARAMETERS and value:
            found.append(value)
    return sorted({form for value in found for form in (value, unquote(value))}, key=len, reverse=True)


def _redact_query(query: str) -> str:
    pairs = []
    for pair in query.split("&") if query else []:
        name, equals, _ = pair.partition("=")
        pairs.append(f"{name}={HIDDEN}" if equals and name.lower() in _SECRET_PARAMETERS else pair)
    return "&".join(pairs)
