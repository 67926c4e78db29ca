"""What of a secret the agent can reach, and what of it leaves the process, through `bassi execute`
with the fake Messages API: base64 forms are redacted like the values, secret names match in
any case, and the API key is out of the tools' environment (but not out of /proc)."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

import pytest

from tests.cli import bassi_process, check_result, run_cli
from tests.fakeapi import FAKE_API_KEY, FakeMessagesAPI, text, tool_use

TASK_YAML = "id: leak\nname: Leak\nprompt: Show me the tokens\nlimits: {timeout: 2m, max_turns: 5}\n"

SHORT = "tok?>~~9f8e7d6c5b4a3921"  # its base64 has '+' and '/': the two alphabets differ
LONG = "github_pat_" + "A1b2C3d4E5f6g7H8" * 6  # 107 bytes: `base64` wraps its encoding


@pytest.fixture
def task_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    monkeypatch.chdir(workspace)
    path = workspace / "leak.yaml"
    path.write_text(TASK_YAML)
    return path


def stored_files(home: Path) -> list[bytes]:
    return [p.read_bytes() for p in home.rglob("*") if p.is_file()]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def inner(prefix: bytes, secret: bytes) -> str:
    """The characters of b64(prefix + secret) that hold bits of the secret alone."""
    return b64(prefix + secret)[-(-len(prefix) * 8 // 6) : (len(prefix) + len(secret)) * 8 // 6]


def encodings() -> list[str]:
    """What the agent's commands below print, as the test computes it."""
    short, long = SHORT.encode(), LONG.encode()
    wrapped = b64(long + b"\n")
    return [
        b64(short),  # echo -n $my_token | base64
        b64(short + b"\n"),  # echo $my_token | base64
        base64.urlsafe_b64encode(short).decode().rstrip("="),  # base64url without padding
        inner(b"user:", short),  # a Basic auth header: the secret at another alignment
        *(wrapped[start : start + 76] for start in range(0, len(wrapped) - 8, 76)),  # wrapped at 76
    ]


COMMANDS = "; ".join(
    [
        "echo -n $my_token | base64",
        "echo $my_token | base64",
        "echo -n $my_token | base64 | tr '+/' '-_' | tr -d =",
        "printf 'user:%s' \"$my_token\" | base64",
        'echo "$Deploy_Api_Key" | base64',
    ]
)


@pytest.mark.parametrize("mode", ["terminal", "github-ci"])
def test_base64_forms_of_secrets_never_leave_the_process(
    fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    # lower- and mixed-case names are secret names too
    monkeypatch.setenv("my_token", SHORT)
    monkeypatch.setenv("Deploy_Api_Key", LONG)
    forms = encodings()
    fake_api.enqueue(
        tool_use(("bash", {"command": COMMANDS})),
        text("Encoded, they are:\n" + "\n".join(forms) + f"\nand plainly {SHORT} and {LONG}"),
    )
    if mode == "terminal":  # the model's text and the tool output stream to the terminal
        code, out, err = run_cli("execute", str(task_file))
    else:  # on GitHub the tool output is folded into the log, line by line
        code, out, err = run_cli("execute", str(task_file), "--ci", env={"GITHUB_ACTIONS": "true", "CI": "true"})
        assert "[REDACTED]" in check_result(out)["result"]
    assert code == 0, err
    sent = json.dumps(fake_api.requests[1].body)
    assert all(form in sent for form in forms)  # the tool really printed them
    blobs = [out.encode(), err.encode(), *stored_files(isolated_home)]
    assert any(b"[REDACTED]" in blob for blob in stored_files(isolated_home))  # transcript, history
    for blob in blobs:
        for form in [*forms, SHORT, LONG]:
            assert form.encode() not in blob, form


# Prints whether the key is in the command's environment, then walks up the process tree and
# prints, base64-encoded, the key of every ancestor whose /proc/<pid>/environ holds it.
WALK_ANCESTORS = r"""
key_of() { tr '\0' '\n' < /proc/$1/environ 2>/dev/null | sed -n 's/^ANTHROPIC_API_KEY=//p'; }
printenv ANTHROPIC_API_KEY || echo 'no key in env'
p=$$
while [ "$p" -gt 1 ]; do
  key=$(key_of $p)
  if [ -n "$key" ]; then echo "pid $p holds the key: $(printf %s "$key" | base64)"; fi
  p=$(awk '/^PPid:/ {print $2}' /proc/$p/status)
done
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="/proc/<pid>/environ is Linux")
def test_the_key_is_not_in_the_tools_environment_and_bassis_own_environment_is_roots_alone(
    fake_api: FakeMessagesAPI, task_file: Path, isolated_home: Path
) -> None:
    """What the README states: bash runs without ANTHROPIC_API_KEY in its environment, and the
    environment bassi was started with (key included) is in its /proc/<pid>/environ, which only
    root may read (bassi is non-dumpable; tests/test_procguard.py shows a same-user reader is
    refused; this suite runs as root, which reads it). Redaction keeps the key, and its base64,
    out of everything bassi writes."""
    fake_api.enqueue(tool_use(("bash", {"command": WALK_ANCESTORS})), text("done"))
    child = bassi_process("execute", str(task_file), "--ci", cwd=task_file.parent)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    tool_output = fake_api.requests[1].body["messages"][-1]["content"][0]["content"]
    tool_text = json.dumps(tool_output)
    assert "no key in env" in tool_text
    holds = f"pid {child.pid} holds the key: {b64(FAKE_API_KEY.encode())}" in tool_text  # bassi's own environ
    assert holds == (os.getuid() == 0)
    for blob in [out.encode(), err.encode(), *stored_files(isolated_home)]:
        assert FAKE_API_KEY.encode() not in blob and b64(FAKE_API_KEY.encode()).encode() not in blob
