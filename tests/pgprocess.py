"""A throw-away PostgreSQL server (Debian `postgresql`; ../shared/ORACLES.md), without pytest:
the tests' fixtures (tests/pgserver.py) and benchmarks/bench_queue.py start theirs here.

`temporary_server()` initialises a cluster (`initdb -A trust`) in a new temporary folder, starts
it on a free 127.0.0.1 port with its socket in that folder, without fsync (the data dies with it
anyway), and stops it with `pg_ctl -m immediate stop` however the block ends. As root (this
machine) the server runs as the user `postgres`, which initdb requires.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "postgres"
INSTALL_HINT = "apt-get install postgresql; pip install 'psycopg[binary]'"
# Enough for the 16-worker benchmark and a test's workers, with room to spare.
MAX_CONNECTIONS = 200


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


def missing() -> list[str]:
    """What is not installed of what a server and its client need (empty: all there)."""
    absent = [] if server_bin() is not None else ["PostgreSQL server (initdb, pg_ctl)"]
    if importlib.util.find_spec("psycopg") is None:
        absent.append("psycopg")
    return absent


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
        self.admin(f"CREATE DATABASE {name}")
        return self.url_of(name)

    def emptied(self, database: str) -> str:
        """The URL of `database`, emptied: connections a test left open are ended and its
        `public` schema is made again (ten times faster than a new database)."""
        self.admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
        import psycopg

        with psycopg.connect(self.url_of(database), autocommit=True) as db:
            db.execute("DROP SCHEMA IF EXISTS public CASCADE")
            db.execute("CREATE SCHEMA public")
        return self.url_of(database)

    def admin(self, statement: str, params: tuple[str, ...] = ()) -> None:
        """Run one statement as the superuser, outside any transaction (CREATE DATABASE needs that)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(statement, params)


@contextlib.contextmanager
def temporary_server() -> Iterator[PgServer]:
    """A fresh server for the block (see the module's docstring); RuntimeError, with the
    server's log, when it does not start."""
    absent = missing()
    if absent:
        raise RuntimeError(f"not installed: {', '.join(absent)} ({INSTALL_HINT})")
    binaries = server_bin()
    assert binaries is not None
    root = Path(tempfile.mkdtemp(prefix="bassi-pg-"))  # not under pytest's 0700 folders: the server user must enter it
    data = root / "data"
    data.mkdir()
    _hand_over(root)
    try:
        _as_server_user(binaries / "initdb", "-D", str(data), "-A", "trust", "-U", SUPERUSER, "--no-sync", "-E", "UTF8")
        server = PgServer(port=_free_port(), data=data, bin=binaries)
        _start(server, root)
        yield server
    finally:
        with contextlib.suppress(RuntimeError):
            _as_server_user(binaries / "pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _start(server: PgServer, root: Path) -> None:
    options = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    options += f" -c full_page_writes=off -c max_connections={MAX_CONNECTIONS}"
    log = root / "server.log"
    try:
        with _orphans_go_to_init():
            _as_server_user(server.bin / "pg_ctl", "-D", str(server.data), "-w", "-l", str(log), "-o", options, "start")
    except RuntimeError as problem:
        server_log = log.read_text(errors="replace") if log.exists() else "(none)"
        raise RuntimeError(f"{problem}\nserver log:\n{server_log}") from None


PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37


@contextlib.contextmanager
def _orphans_go_to_init() -> Iterator[None]:
    """The block runs with this process no child subreaper.

    pg_ctl exits and leaves the server running: an orphan, which Linux gives to the nearest
    subreaper among its ancestors. A test process becomes one as soon as a test runs the agent
    in-process (bassi_ci/agent/tools/containment.py), and at the end of every such run it kills
    the children it adopted from other sessions: the server would die in the middle of the
    session. With the flag off while pg_ctl runs, the server goes to init instead."""
    if not sys.platform.startswith("linux"):
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    flag = ctypes.c_int(0)
    libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, flag.value, 0, 0, 0)


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
