"""`bassi notify test`: a sample to each target, one line each, exit 1 when any failed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bassi_ci.runs import notify
from tests.cli import run_cli
from tests.runs.receiver import Receiver, dead_url


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "BACKOFF_S", (0.0, 0.0))


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_sends_a_sample_to_every_target_whatever_its_when(
    receiver: Receiver, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_HOOK", receiver.url)
    (workspace / "weekly.yaml").write_text(
        "id: weekly\nprompt: go\nnotify:\n"
        "  - url_env: TEAM_HOOK\n    format: slack\n    when: [timeout]\n"
        f"  - url: http://{receiver.host}/json\n    when: success\n"
    )
    code, out, err = run_cli("notify", "test", "weekly.yaml")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"notification 1 (slack to {receiver.host}): sent (HTTP 200)",
        f"notification 2 (json to {receiver.host}): sent (HTTP 200)",
    ]
    slack, document = receiver.payloads()
    assert slack["text"].startswith("bassi: weekly success (exit 0)") and "test notification" in str(slack["blocks"])
    assert document["task_id"] == "weekly" and document["status"] == "success"
    assert receiver.url not in out


def test_any_failed_target_exits_1(receiver: Receiver, workspace: Path) -> None:
    (workspace / "weekly.yaml").write_text(
        f"id: weekly\nprompt: go\nnotify:\n  - url: {receiver.url}\n  - url_env: UNSET_HOOK\n  - url: {dead_url()}\n"
    )
    receiver.fail(404)
    code, out, _ = run_cli("notify", "test", "weekly.yaml")
    lines = out.splitlines()
    assert code == 1 and len(lines) == 3
    assert lines[0] == f"notification 1 (json to {receiver.host}): failed: HTTP 404"
    assert lines[1].startswith("notification 2 (json to $UNSET_HOOK): failed: the environment variable UNSET_HOOK")
    assert "failed: cannot connect: Connection refused (after 3 attempts)" in lines[2]


def test_url_and_format_without_a_task(receiver: Receiver, workspace: Path) -> None:
    code, out, _ = run_cli("notify", "test", "--url", receiver.url, "--format", "slack")
    assert code == 0 and out == f"notification 1 (slack to {receiver.host}): sent (HTTP 200)\n"
    assert receiver.payloads()[0]["text"].startswith("bassi: notify-test success")


def test_url_env(receiver: Receiver, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_HOOK", receiver.url)
    code, out, _ = run_cli("notify", "test", "--url-env", "SOME_HOOK")
    assert code == 0 and out == f"notification 1 (json to {receiver.host}): sent (HTTP 200)\n"
    assert receiver.payloads()[0]["task_id"] == "notify-test"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a TASK whose notify targets to try, or --url URL / --url-env NAME"),
        (["plain.yaml"], "task 'plain' has no notify targets; add a 'notify' list in "),
        (["--url", "ftp://x/y"], "--url: expected an http:// or https:// URL"),
        (["--url", "http://x/", "--url-env", "X"], "give --url or --url-env, not both"),
        (["no-such-task"], "no-such-task"),
        (["--url", "http://x/", "--format", "xml"], "'xml' is not one of 'json', 'slack'"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, workspace: Path) -> None:
    (workspace / "plain.yaml").write_text("id: plain\nprompt: go\n")
    code, out, err = run_cli("notify", "test", *args)
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_notify_test_imports_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "from bassi_ci.cli import main\n"
        "from bassi_ci.runs import notify\n"
        "notify.BACKOFF_S = ()\n"
        "try:\n"
        "    main(['notify', 'test', '--url', 'http://127.0.0.1:9/x'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LOADED', [m for m in ('anthropic', 'httpx', 'git', 'mcp') if m in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    assert "LOADED []" in result.stderr, result.stderr[-500:]


def test_editing_a_task_keeps_its_notify_targets(isolated_home: Path) -> None:
    tasks = isolated_home / "tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    (tasks / "weekly.yaml").write_text(
        "id: weekly\nname: weekly\nprompt: go\nnotify:\n  - url_env: TEAM_HOOK\n    when: always\n    format: slack\n"
    )
    code, _, err = run_cli("schedule", "edit", "weekly", "--prompt", "go again")
    assert code == 0, err
    stored = yaml.safe_load((tasks / "weekly.yaml").read_text())
    assert stored["prompt"] == "go again"
    assert stored["notify"] == [{"when": ["always"], "url_env": "TEAM_HOOK", "format": "slack"}]
