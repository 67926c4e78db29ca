"""The PostgreSQL queue attacked the way a hostile agent (the model bassi runs, with a shell as the
worker's user) or a hostile queue user would: through `bassi`, a real server (tests/pgserver.py)
and the fake Messages API scripting the agent's tool calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import ClientSession

from bassi_ci.errors import UsageError
from tests.cli import ROOT, run_cli
from tests.fakeapi import FakeMessagesAPI, text, tool_use
from tests.pgserver import SUPERUSER, PgServer, requires_postgres

SECRET = "hostile-pw-4711"


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


# --------------------------------------------------------------------------- the URL's password


@pytest.mark.parametrize(
    "url",
    [f"postgresql://bassi:{SECRET}@db.invalid/queue", f"postgres://db.invalid/queue?sslmode=require&password={SECRET}"],
)
@pytest.mark.parametrize(
    "command", [("queue", "list"), ("queue", "add", "x", "--prompt", "p"), ("mcp", "serve")], ids=" ".join
)
def test_a_password_on_the_command_line_is_refused(url: str, command: tuple[str, ...]) -> None:
    """Every process of the machine reads every command line (ps, /proc/<pid>/cmdline: not hidden
    by bassi's non-dumpable mark), the agent's commands included: a worker started with
    `--queue-url postgresql://u:pw@…` would hand the agent the queue's password."""
    code, out, err = run_cli(*command, "--queue-url", url)
    assert code == 2
    line = one_line(err)
    assert "--queue-url" in line and "BASSI_QUEUE_URL" in line and "/proc/<pid>/cmdline" in line
    assert SECRET not in out + err


def test_a_worker_with_a_password_on_its_command_line_runs_nothing(fake_api: FakeMessagesAPI) -> None:
    code, out, err = run_cli(
        "execute", "--next", "--drain", "--ci", "--queue-url", f"postgresql://bassi:{SECRET}@db.invalid/q"
    )
    assert code == 2 and json.loads(out)["status"] == "usage_error"
    assert SECRET not in out + err and fake_api.requests == []


@requires_postgres
def test_the_agent_finds_the_password_in_no_command_line_of_a_worker(
    pg_url: str, fake_api: FakeMessagesAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The way that remains, BASSI_QUEUE_URL: a real worker process whose agent reads every
    command line and the environment of its own commands."""
    url = pg_url.replace(f"{SUPERUSER}@", f"{SUPERUSER}:{SECRET}@")  # trust login: any password is taken
    monkeypatch.setenv("BASSI_QUEUE_URL", url)
    assert run_cli("queue", "add", "snoop", "--prompt", "look around")[0] == 0
    snoop = "cat /proc/[0-9]*/cmdline | tr '\\0' ' ' > cmdlines.txt; env > env.txt; echo looked"
    fake_api.enqueue(tool_use(("bash", {"command": snoop})), text("done"))
    env = {"ANTHROPIC_BASE_URL": fake_api.base_url, "ANTHROPIC_API_KEY": "test-key", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "bassi_ci", "execute", "--next", "--drain", "--ci"],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    seen = (tmp_path / "cmdlines.txt").read_text(errors="replace") + (tmp_path / "env.txt").read_text()
    assert "execute --next --drain --ci" in seen  # the agent did see the worker's command line
    assert SECRET not in seen and SECRET not in proc.stdout + proc.stderr


@requires_postgres
@pytest.mark.parametrize(
    "user_part",
    ["bassi:p@ss-4711", "bassi:pa/ss-4711", "bassi:pa#ss-4711", "bassi:pa?ss-4711"],
)
def test_an_unencoded_reserved_character_in_the_password_is_refused_unseen(
    user_part: str, pg_server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libpq cuts such a URL elsewhere than Python's urlsplit (the user part at the first '@'), so
    the driver's messages would quote a piece of the password that redaction does not know."""
    monkeypatch.setenv("BASSI_QUEUE_CONNECT_TRIES", "1")
    monkeypatch.setenv("BASSI_QUEUE_URL", f"postgresql://{user_part}@127.0.0.1:{pg_server.port}/postgres")
    code, out, err = run_cli("queue", "list")
    assert code == 2
    line = one_line(err)
    assert "%40" in line and "127.0.0.1" in line
    assert "ss-4711" not in out + err


# --------------------------------------------------------------------------- the database's shape


@requires_postgres
def test_a_queue_migrated_by_a_newer_bassi_is_refused_not_used(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that does not know the tables' latest shape would read and write them as if they
    had its own: it must stop with one line, and change nothing."""
    from bassi_ci.queue.pg_connection import connect

    monkeypatch.setenv("BASSI_QUEUE_URL", pg_url)
    assert run_cli("queue", "add", "kept", "--prompt", "p")[0] == 0
    with connect(pg_url) as db:
        db.execute("INSERT INTO bassi_schema_migrations (version, name) VALUES (7, 'from a newer bassi')")
    for command in (("queue", "list"), ("queue", "add", "new", "--prompt", "p")):
        code, out, err = run_cli(*command)
        assert code == 1, (command, out, err)
        line = one_line(err)
        assert "schema version 7" in line and "upgrade bassi-ci" in line, line
    code, out, _ = run_cli("execute", "--next", "--ci")
    assert code == 1 and "schema version 7" in json.loads(out)["error"]["message"]
    with connect(pg_url) as db:
        names = [row["name"] for row in db.execute("SELECT name FROM bassi_queue_items").fetchall()]
    assert names == ["kept"]


# --------------------------------------------------------------------------- values of queue items

HUGE = str(2**70)


@pytest.mark.usefixtures("queue_backend")
@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(("queue", "add", "x", "--prompt", "p", "--priority", str(2**31)), "--priority", id="priority"),
        pytest.param(("queue", "add", "x", "--prompt", "p", "--priority", f"-{HUGE}"), "--priority", id="-priority"),
        pytest.param(("queue", "add", "x", "--prompt", "p", "--max-attempts", str(2**31)), "--max-attempts", id="max"),
        pytest.param(("queue", "show", HUGE), f"no queue item {HUGE}", id="show"),
        pytest.param(("queue", "cancel", HUGE), f"no queue item {HUGE}", id="cancel"),
        pytest.param(("queue", "retry", HUGE), f"no queue item {HUGE}", id="retry"),
    ],
)
def test_numbers_no_backend_can_store_are_usage_errors_on_both(args: tuple[str, ...], named: str) -> None:
    """SQLite crashed on them (OverflowError), PostgreSQL (32-bit integers) said exit 1 where
    SQLite had taken the item: a queue user's typo or a hostile value is one line, exit 2."""
    code, _, err = run_cli(*args)
    assert code == 2, err
    assert named in one_line(err) and "unexpected error" not in err


@pytest.mark.usefixtures("queue_backend")
def test_a_huge_list_bound_lists_everything_on_both() -> None:
    assert run_cli("queue", "add", "x", "--prompt", "p")[0] == 0
    code, out, err = run_cli("queue", "list", "-n", HUGE, "--json")
    assert code == 0, err
    assert [item["name"] for item in json.loads(out)] == ["x"]


@pytest.mark.slow  # starts `bassi mcp serve`
@pytest.mark.usefixtures("queue_backend")
def test_an_agent_adding_odd_values_over_mcp_gets_tool_errors_naming_them(tmp_path: Path) -> None:
    """An agent with the queue's MCP server sends what no command line can: NUL characters, and
    numbers beyond every column. Each is a tool error that says what is wrong, on both backends
    (SQLite took a NUL that PostgreSQL then refused; an id beyond 64 bits crashed the SQLite tool)."""
    from tests.queue.test_mcp_server import call, serve_with

    seen: dict[str, tuple[bool, object]] = {}

    async def scenario(session: ClientSession) -> None:
        seen["nul_name"] = await call(session, "add_task", name="a\x00b", prompt="p")
        seen["nul_var"] = await call(session, "add_task", name="v", prompt="p", vars={"k": "a\x00"})
        seen["priority"] = await call(session, "add_task", name="x", prompt="p", priority=2**40)
        seen["huge_id"] = await call(session, "complete_task", id=2**70, result="x")
        seen["odd_but_fine"] = await call(session, "add_task", name="a\u2028b\u202e", prompt="x" * 100_000)

    serve_with(scenario, tmp_path)
    assert seen["nul_name"] == (
        True,
        "Error executing tool add_task: NAME: a queue item cannot hold a NUL character (\\0); remove it",
    )
    assert seen["nul_var"][0] and "--var: a queue item cannot hold a NUL" in str(seen["nul_var"][1])
    assert seen["priority"][0] and "--priority 1099511627776: give a whole number" in str(seen["priority"][1])
    assert seen["huge_id"][0] and f"no queue item {2**70}" in str(seen["huge_id"][1])
    assert not seen["odd_but_fine"][0]


# An item's text reaches the terminal of whoever lists the queue: escape sequences (here OSC 52,
# which writes the clipboard, and "erase line"), a bidi override, and a line separator.
HOSTILE_NAME = "report\x1b]52;c;ZXZpbA==\x07\x1b[2K\u202efdp.exe\u2028faked row"


@pytest.mark.usefixtures("queue_backend")
def test_item_text_reaches_no_terminal_as_control_characters() -> None:
    assert run_cli("queue", "add", HOSTILE_NAME, "--prompt", f"do {HOSTILE_NAME}", "--var", f"k={HOSTILE_NAME}")[0] == 0
    for command in (("queue", "list"), ("queue", "show", "1")):
        code, out, err = run_cli(*command)
        assert code == 0, err
        assert not [char for char in out if not char.isprintable() and char != "\n"], (command, out)
        assert "report\\x1b]52;c;ZXZpbA==\\x07\\x1b[2K\\u202efdp.exe\\u2028faked row" in out  # shown, escaped
    code, out, _ = run_cli("queue", "show", "1", "--json")
    assert json.loads(out)["name"] == HOSTILE_NAME  # scripts get the text as it is


def test_mcp_serve_hides_its_environment_from_its_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """`bassi mcp serve` runs for a whole agent session with BASSI_QUEUE_URL in its environment,
    and its client is an agent with a shell as the same user: like `execute`, it marks itself
    non-dumpable (tests/test_procguard.py shows what that closes) before it opens the queue."""
    from bassi_ci.commands import mcp_serve

    calls: list[str] = []

    def hide() -> bool:
        calls.append("hidden")
        return True

    def opener(url: str | None) -> object:
        calls.append("opened")
        raise UsageError("stop before serving")

    monkeypatch.setattr(mcp_serve, "hide_from_same_user", hide)
    monkeypatch.setattr(mcp_serve, "store_opener", opener)
    code, _, err = run_cli("mcp", "serve", "--queue-url", "postgresql://h/db")
    assert calls == ["hidden", "opened"] and code == 2 and "stop before serving" in err


# --------------------------------------------------------------------------- a drain's log on GitHub


@pytest.mark.usefixtures("queue_backend")
def test_a_drains_item_lines_cannot_issue_github_workflow_commands(
    fake_api: FakeMessagesAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue-workers template drains on GitHub, whose runner obeys `::command::` lines in the
    log. The model ends an item with a failure whose message holds such lines (as the `error` of
    an ask_user question can, too); `execute TASK` fences them, and so must the drain."""
    from tests.workflow_commands import github_commands

    monkeypatch.chdir(tmp_path)
    assert run_cli("queue", "add", "forge", "--prompt", "p")[0] == 0
    assert run_cli("queue", "add", "ask", "--prompt", "p")[0] == 0
    fake_api.enqueue(
        text("FAILED: broken\n::error::forged by the model\n::add-mask::bassi"),
        tool_use(("ask_user", {"question": "which?\n::warning::forged question"})),
    )
    code, out, err = run_cli("execute", "--next", "--drain", "--ci", env={"GITHUB_ACTIONS": "true", "CI": "true"})
    assert code == 1 and json.loads(out)["items_run"] == 2
    assert "::error::forged by the model" in err and "::warning::forged question" in err  # shown, but inert
    commands, _ = github_commands(err)
    assert [command for command in commands if "forged" in command or "add-mask" in command] == []
