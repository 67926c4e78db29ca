"""A real PostgreSQL server for the tests (Debian `postgresql`; ../shared/ORACLES.md).

Used as a pytest plugin (`pytest_plugins` in tests/conftest.py):

- `pg_server` (session): one server, initialised once (`initdb -A trust`) in a temporary folder
  and started on a free 127.0.0.1 port with its socket in that folder, without fsync (the data
  dies with the session anyway); stopped with `pg_ctl -m immediate stop` at the end, however the
  tests ended (tests/pgprocess.py, which the benchmarks share). Yields a `PgServer` (its base
  URL, and `new_database()`).
- `pg_url` (function): the URL of an empty database of that server for one test (the same
  database, emptied before each test: fast; `PgServer.new_database()` makes more).
- `queue_backend` (function, parametrized `sqlite`/`postgres`): runs a test once per queue
  backend; for `postgres` BASSI_QUEUE_URL points at a fresh database, so `open_store()` and
  every `bassi` the test starts use it (`pytestmark = pytest.mark.usefixtures("queue_backend")`).

A test that needs it is marked `@requires_postgres` (directly or on a parameter): without the
server programs or the psycopg driver it is skipped before it starts, and on CI (CI=true, see
conftest.py) that skip fails the run. As root (this machine) the server runs as the user
`postgres`, which initdb requires; as anyone else, as that user.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.pgprocess import INSTALL_HINT, SUPERUSER, PgServer, missing, temporary_server

__all__ = ["BACKENDS", "SUPERUSER", "PgServer", "pg_server", "pg_url", "queue_backend", "requires_postgres"]

SHARED_DATABASE = "bassi_test"  # emptied for each test that asks for `pg_url`

requires_postgres = pytest.mark.skipif(
    bool(missing()), reason=f"not installed: {', '.join(missing())} ({INSTALL_HINT})"
)
# Parameters of a test or fixture that runs on each queue backend.
BACKENDS = ["sqlite", pytest.param("postgres", marks=requires_postgres)]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL server for the whole session (see the module's docstring)."""
    absent = missing()
    if absent:
        pytest.skip(f"not installed: {', '.join(absent)} ({INSTALL_HINT})")
    with temporary_server() as server:
        server.admin(f"CREATE DATABASE {SHARED_DATABASE}")
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of an empty database for this test (emptied again for the next one)."""
    return pg_server.emptied(SHARED_DATABASE)


@pytest.fixture(params=BACKENDS)
def queue_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's queue backend (see the module's docstring)."""
    if request.param == "postgres":
        monkeypatch.setenv("BASSI_QUEUE_URL", request.getfixturevalue("pg_url"))
    backend: str = request.param
    return backend
