"""What only the PostgreSQL queue has, on a real server (tests/pgserver.py): its migrations when
workers start at once, reconnecting, and how an unreachable server, a bad URL or a missing
driver end (one line, the documented exit code, never the URL's password). The storage rules
themselves are tests/queue/test_store.py's, run on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bassi_ci.queue.model import NewItem, QueueUnavailable, WrongState
from bassi_ci.queue.pg_connection import connect
from bassi_ci.queue.pg_schema import ITEMS_TABLE, LATEST_VERSION, MIGRATIONS_TABLE, migrate
from bassi_ci.queue.store import open_store
from tests.cli import ROOT, run_cli
from tests.fakeapi import FakeMessagesAPI, text, tool_use
from tests.pgserver import SUPERUSER, PgServer, requires_postgres

pytestmark = requires_postgres

SECRET = "topsecret-pw"


def closed_port() -> int:
    """A port nothing listens on (bound and released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def migrations(url: str) -> list[tuple[int, str]]:
    with connect(url) as db:
        rows = db.execute(f"SELECT version, name FROM {MIGRATIONS_TABLE} ORDER BY version").fetchall()
    return [(row["version"], row["name"]) for row in rows]


def test_workers_starting_at_once_on_an_empty_database_all_succeed(pg_url: str) -> None:
    starters = 6
    barrier = threading.Barrier(starters)
    problems: list[BaseException] = []
    added: list[int] = []

    def start() -> None:
        barrier.wait()
        try:
            store = open_store(url=pg_url)
            try:
                added.append(store.add(NewItem(name="n", prompt="p")).id)
            finally:
                store.close()
        except BaseException as problem:  # collected: a thread's exception would be lost
            problems.append(problem)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    assert sorted(added) == list(range(1, starters + 1))
    assert migrations(pg_url) == [(1, "queue items")]


def test_migrating_again_changes_nothing(pg_url: str) -> None:
    with connect(pg_url) as db:
        assert migrate(db) == LATEST_VERSION
        db.execute(
            "INSERT INTO bassi_queue_items (name, prompt, status, max_attempts, created_at)"
            " VALUES ('kept', 'p', 'pending', 3, now())"
        )
        assert migrate(db) == 0
        assert migrate(db) == 0
        names = [row["name"] for row in db.execute("SELECT name FROM bassi_queue_items").fetchall()]
    assert names == ["kept"]
    assert migrations(pg_url) == [(1, "queue items")]


def test_tables_share_one_prefix(pg_url: str) -> None:
    open_store(url=pg_url).close()
    with connect(pg_url) as db:
        rows = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").fetchall()
    assert [row["tablename"] for row in rows] == ["bassi_queue_items", "bassi_schema_migrations"]


def test_many_workers_take_each_item_once(pg_url: str) -> None:
    """A small taste of SKIP LOCKED under contention (the big drain is another test's)."""
    seed = open_store(url=pg_url)
    ids = [seed.add(NewItem(name=f"i{n}", prompt="p")).id for n in range(60)]
    barrier = threading.Barrier(4)
    taken: dict[str, list[int]] = {}

    def work(name: str) -> None:
        store = open_store(url=pg_url)
        mine = taken.setdefault(name, [])
        barrier.wait()
        try:
            while (item := store.claim(name, 60)) is not None:
                mine.append(item.id)
                store.complete(item.id, name, {"by": name})
        finally:
            store.close()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = sorted(i for ids_of in taken.values() for i in ids_of)
    assert everything == ids
    assert seed.count("done") == 60
    seed.close()


def test_a_claim_passes_over_a_row_another_transaction_holds(pg_url: str) -> None:
    """The one-statement claim skips a locked row (never waits for it) and takes the next best."""
    store = open_store(url=pg_url)
    first = store.add(NewItem(name="first", prompt="p", priority=5)).id
    second = store.add(NewItem(name="second", prompt="p")).id
    with connect(pg_url) as other, other.transaction():
        other.execute(f"SELECT id FROM {ITEMS_TABLE} WHERE id = %s FOR UPDATE", (first,))
        claimed = store.claim("w1", 60)
        assert claimed is not None and claimed.id == second
    again = store.claim("w2", 60)
    assert again is not None and again.id == first
    store.close()


def test_completing_waits_for_a_cancel_in_flight_and_then_refuses(pg_url: str) -> None:
    """Completing is one UPDATE while the worker holds the item; when a cancel holds the row, the
    UPDATE waits, sees the cancelled row after the commit and changes nothing: WrongState."""
    store = open_store(url=pg_url)
    item_id = store.add(NewItem(name="a", prompt="p")).id
    assert store.claim("w1", 60) is not None
    outcome: list[BaseException | None] = []

    def complete() -> None:
        try:
            store.complete(item_id, "w1", {"status": "success"})
            outcome.append(None)
        except WrongState as error:
            outcome.append(error)

    with connect(pg_url) as other, other.transaction():
        other.execute(f"UPDATE {ITEMS_TABLE} SET status = 'cancelled' WHERE id = %s", (item_id,))
        finisher = threading.Thread(target=complete)
        finisher.start()
        finisher.join(0.5)
        assert finisher.is_alive()  # waiting for the cancel's row lock, not deciding on old data
    finisher.join(10)
    assert len(outcome) == 1 and "cannot be done by w1: it is cancelled" in str(outcome[0])
    assert store.get(item_id).status == "cancelled"
    store.close()


def test_a_dropped_connection_is_opened_again_at_the_next_call(pg_url: str, pg_server: PgServer) -> None:
    store = open_store(url=pg_url)
    store.add(NewItem(name="n", prompt="p"))
    with connect(pg_server.url) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (pg_url.rsplit("/", 1)[1],),
        )
    with pytest.raises(QueueUnavailable, match="cannot reach the PostgreSQL queue"):
        store.count()
    assert store.count() == 1  # the lease keeper and the next claim carry on
    store.close()


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_refused_connection_is_exit_6_after_the_back_off_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSI_QUEUE_CONNECT_TRIES", "3")  # pauses 0.25 s and 0.5 s
    port = closed_port()
    url = f"postgresql://bassi:{SECRET}@127.0.0.1:{port}/queue?sslpassword={SECRET}2"
    started = time.monotonic()
    monkeypatch.setenv("BASSI_QUEUE_URL", url)  # a password on the command line is refused
    code, out, err = run_cli("queue", "list")
    elapsed = time.monotonic() - started
    assert code == 6
    line = one_line(err)
    assert f"postgresql://bassi:***@127.0.0.1:{port}/queue?sslpassword=***" in line
    assert "Connection refused" in line and "gave up after 3 tries" in line
    assert SECRET not in out + err
    assert elapsed >= 0.7


def test_back_off_doubles_up_to_its_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("bassi_ci.queue.pg_connection.time.sleep", pauses.append)  # the waits only; the tries are real
    with pytest.raises(QueueUnavailable, match="gave up after 9 tries"):
        connect(f"postgresql://bassi@127.0.0.1:{closed_port()}/queue", tries=9)
    assert pauses == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_unknown_role_is_exit_6_naming_the_server(pg_server: PgServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSI_QUEUE_CONNECT_TRIES", "1")
    monkeypatch.setenv("BASSI_QUEUE_URL", f"postgresql://nobody:{SECRET}@127.0.0.1:{pg_server.port}/postgres")
    code, out, err = run_cli("queue", "add", "x", "--prompt", "p")
    assert code == 6
    assert 'role "nobody" does not exist' in one_line(err)
    assert SECRET not in out + err


def test_execute_next_reports_an_unreachable_queue_as_api_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSI_QUEUE_CONNECT_TRIES", "1")
    url = f"postgres://bassi:{SECRET}@127.0.0.1:{closed_port()}/queue"
    monkeypatch.setenv("BASSI_QUEUE_URL", url)
    code, out, err = run_cli("execute", "--next", "--ci")
    assert code == 6
    assert '"status": "api_error"' in out and "QueueUnavailable" in out
    assert SECRET not in out + err


def test_mcp_serve_with_an_unreachable_queue_is_exit_6_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSI_QUEUE_CONNECT_TRIES", "1")
    url = f"postgresql://bassi:{SECRET}@127.0.0.1:{closed_port()}/queue"
    monkeypatch.setenv("BASSI_QUEUE_URL", url)
    code, out, err = run_cli("mcp", "serve")
    assert (code, out) == (6, "")
    assert "cannot reach the PostgreSQL queue at postgresql://bassi:***@" in one_line(err)
    assert SECRET not in err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"mysql://bassi:{SECRET}@db/queue", "BASSI_QUEUE_URL 'mysql://bassi:***@db/queue': expected postgresql://"),
        ("sqlite:///tmp/q.db", "expected postgresql://USER:PASSWORD@HOST[:PORT]/DATABASE (or postgres://…)"),
        (f"postgresql://bassi:{SECRET}@db/queue?colour=blue", 'invalid URI query parameter: "colour"'),
        (f"postgresql://bassi:{SECRET}@[::1/queue", "queue URL ***: end of string reached"),
    ],
)
def test_bad_queue_url_is_a_usage_error(url: str, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSI_QUEUE_URL", url)
    code, out, err = run_cli("queue", "list")
    assert code == 2
    assert message in one_line(err)
    assert SECRET not in out + err


def test_missing_driver_is_exit_2_naming_the_extra(tmp_path: Path) -> None:
    fake = tmp_path / "no-driver"
    fake.mkdir()
    (fake / "psycopg.py").write_text('raise ImportError("no psycopg here")\n', encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": f"{fake}{os.pathsep}{ROOT}",
        "BASSI_QUEUE_URL": f"postgresql://bassi:{SECRET}@127.0.0.1:{closed_port()}/queue",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bassi_ci", "queue", "list"], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'bassi-ci[postgres]'" in one_line(proc.stderr)
    assert SECRET not in proc.stdout + proc.stderr


def test_a_drain_with_a_password_in_the_url_never_shows_it(
    pg_server: PgServer, pg_url: str, fake_api: FakeMessagesAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole way: queue add, a worker's drain whose agent looks for the URL, queue show."""
    url = pg_url.replace(f"{SUPERUSER}@", f"{SUPERUSER}:{SECRET}@")  # trust login: the password is not checked
    monkeypatch.setenv("BASSI_QUEUE_URL", url)
    monkeypatch.chdir(tmp_path)
    assert run_cli("queue", "add", "look", "--prompt", "look around")[0] == 0
    fake_api.enqueue(tool_use(("bash", {"command": 'echo "[$BASSI_QUEUE_URL]" > seen.txt'})), text("done"))
    code, out, err = run_cli("execute", "--next", "--drain", "--ci")
    assert code == 0, err
    assert (tmp_path / "seen.txt").read_text() == "[]\n"  # hidden from the agent's commands
    code, shown, _ = run_cli("queue", "show", "1", "--json")
    assert code == 0 and json.loads(shown)["status"] == "done"
    assert SECRET not in out + err + shown


SURVIVOR = """
import psycopg
from bassi_ci.agent.tools import containment
from tests.pgprocess import temporary_server
containment.become_subreaper()  # what any in-process agent run does to the test process
with temporary_server() as server:
    containment.kill_adopted()  # what the end of every such run does
    with psycopg.connect(server.url) as db:
        print("alive", db.execute("SELECT 1").fetchone()[0])
"""


def test_the_test_server_outlives_the_end_of_an_in_process_run() -> None:
    """The session's server once died half-way through the suite: pg_ctl's orphaned server was
    adopted by the subreaper test process and killed at the end of the next in-process run."""
    proc = subprocess.run(
        [sys.executable, "-c", SURVIVOR],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "alive 1"), proc.stderr[-2000:]
