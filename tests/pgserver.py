"""A real PostgreSQL server for the tests (Debian `postgresql`; ../shared/ORACLES.md).

Used as a pytest plugin (`pytest_plugins` in tests/conftest.py):

- `pg_server` (session): one server, initialised once (`initdb -A trust`) in a temporary folder
  and started on a free 127.0.0.1 port with its socket in that folder, without fsync (the data
  dies with the session anyway); stopped with `pg_ctl -m immediate stop` at the end, however the
  tests ended. Yields a `PgServer` (its base URL, and `new_database()`).
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

import contextlib
import glob
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SUPERUSER = "postgres"
SHARED_DATABASE = "bassi_test"  # emptied for each test that asks for `pg_url`
INSTALL_HINT = "apt-get install postgresql; pip install 'psycopg[binary]'"


def server_bin() -> Path | None:
    """The folder of the newest installed server's programs (initdb, pg_ctl), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_major_version)
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _major_version(pg_ctl: str) -> int:
    version = Path(pg_ctl).parent.parent.name
    return int(version) if version.isdigit() else 0


def _missing() -> list[str]:
    missing = [] if server_bin() is not None else ["PostgreSQL server (initdb, pg_ctl)"]
    if importlib.util.find_spec("psycopg") is None:
        missing.append("psycopg")
    return missing


requires_postgres = pytest.mark.skipif(
    bool(_missing()), reason=f"not installed: {', '.join(_missing())} ({INSTALL_HINT})"
)
# Parameters of a test or fixture that runs on each queue backend.
BACKENDS = ["sqlite", pytest.param("postgres", marks=requires_postgres)]


@dataclass
class PgServer:
    """A running server: `url` reaches its `postgres` database as the superuser (no password)."""

    port: int
    data: Path
    bin: Path
    _names: Iterator[int] = field(default_factory=itertools.count)

    @property
    def url(self) -> str:
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create another empty database (about 0.1-0.4 s); its URL."""
        name = f"test_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}")
        return self.url_of(name)

    def emptied(self, database: str = SHARED_DATABASE) -> str:
        """The URL of `database`, emptied: connections a test left open are ended and its
        `public` schema is made again (ten times faster than a new database)."""
        self._admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
        import psycopg

        with psycopg.connect(self.url_of(database), autocommit=True) as db:
            db.execute("DROP SCHEMA IF EXISTS public CASCADE")
            db.execute("CREATE SCHEMA public")
        return self.url_of(database)

    def _admin(self, statement: str, params: tuple[str, ...] = ()) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(statement, params)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL server for the whole session (see the module's docstring)."""
    missing = _missing()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} ({INSTALL_HINT})")
    binaries = server_bin()
    assert binaries is not None
    root = Path(tempfile.mkdtemp(prefix="bassi-pg-"))  # not under pytest's 0700 folders: the server user must enter it
    data = root / "data"
    data.mkdir()
    _hand_over(root)
    _as_server_user(binaries / "initdb", "-D", str(data), "-A", "trust", "-U", SUPERUSER, "--no-sync", "-E", "UTF8")
    server = PgServer(port=_free_port(), data=data, bin=binaries)
    options = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    options += " -c full_page_writes=off -c max_connections=200"
    log = root / "server.log"
    try:
        try:
            _as_server_user(binaries / "pg_ctl", "-D", str(data), "-w", "-l", str(log), "-o", options, "start")
        except RuntimeError as problem:
            server_log = log.read_text(errors="replace") if log.exists() else "(none)"
            raise RuntimeError(f"{problem}\nserver log:\n{server_log}") from None
        server._admin(f"CREATE DATABASE {SHARED_DATABASE}")
        yield server
    finally:
        with contextlib.suppress(RuntimeError):
            _as_server_user(binaries / "pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of an empty database for this test (emptied again for the next one)."""
    return pg_server.emptied()


@pytest.fixture(params=BACKENDS)
def queue_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's queue backend (see the module's docstring)."""
    if request.param == "postgres":
        monkeypatch.setenv("BASSI_QUEUE_URL", request.getfixturevalue("pg_url"))
    backend: str = request.param
    return backend


def _hand_over(folder: Path) -> None:
    """initdb refuses to run as root: as root, the folder goes to the server's own user."""
    if os.geteuid() == 0:
        account = pwd.getpwnam(SUPERUSER)
        os.chown(folder, account.pw_uid, account.pw_gid)
        os.chown(folder / "data", account.pw_uid, account.pw_gid)


def _as_server_user(program: Path, *args: str) -> None:
    command = [str(program), *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", SUPERUSER, "--", *command]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed (exit {proc.returncode}): {proc.stdout}{proc.stderr}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
