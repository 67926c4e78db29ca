"""The editor's bounds (issue 7, item 5): memory and time of every command, whatever the file.

The big-file tests run the command in a child process whose address space is capped at
512 MiB, and which reports the peak of the memory Python allocated during the command
(tracemalloc; ru_maxrss would include the parent's, inherited across exec on Linux) and its
CPU time: reading a whole 1 GB or 50 MB file, as the editor of bassi 0.1.0 did, cannot pass.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bassi_ci.agent.loop import AgentRequest, NullObserver, run_agent
from bassi_ci.agent.tools import cut_output
from bassi_ci.agent.tools import editor as editor_module
from bassi_ci.agent.tools.editor import MAX_FILE_BYTES, EditorTool, numbered_and_cut
from bassi_ci.agent.transport import AnthropicTransport
from bassi_ci.errors import ExitCode, RunTimeout
from bassi_ci.tasks.model import ALL_TOOLS
from tests.fakeapi import FakeMessagesAPI, text, tool_use

GIB = 1024**3
CHILD = """
import contextlib, json, resource, sys, time, tracemalloc
with contextlib.suppress(ValueError, OSError):  # not every platform caps the address space
    resource.setrlimit(resource.RLIMIT_AS, (512 * 2**20, 512 * 2**20))
from pathlib import Path
from bassi_ci.agent.tools.editor import EditorTool
tool = EditorTool(Path(sys.argv[1]), max_output_chars=30_000)
tracemalloc.start()
started = time.process_time()
result = tool(json.loads(sys.argv[2]))
cpu_s = time.process_time() - started
print(json.dumps({
    "output": result.output,
    "is_error": result.is_error,
    "cpu_s": cpu_s,
    "peak_mib": tracemalloc.get_traced_memory()[1] / 2**20,
}))
"""


def in_child(workspace: Path, **tool_input: object) -> dict[str, object]:
    """Run one editor command in a child capped at 512 MiB; its result, CPU time and memory peak."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(workspace), json.dumps(tool_input)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    outcome: dict[str, object] = json.loads(child.stdout)
    return outcome


def small(outcome: dict[str, object]) -> bool:
    """Whether the command stayed small: under 16 MiB allocated at its peak and 5 s of CPU."""
    peak, cpu = outcome["peak_mib"], outcome["cpu_s"]
    assert isinstance(peak, float | int) and isinstance(cpu, float | int)
    return peak < 16 and cpu < 5


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of `size` bytes: `head`, then a hole (zeros that take no disk)."""
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)
    return path


def call(tool: EditorTool, **tool_input: object) -> tuple[str, bool]:
    result = tool(dict(tool_input))
    return result.output, result.is_error


# --- big files ---


@pytest.mark.timeout(120)
def test_viewing_a_sparse_1_gb_file_whole_is_refused_without_reading_it(workspace: Path) -> None:
    sparse(workspace / "disk.img", GIB)
    outcome = in_child(workspace, command="view", path="disk.img")
    assert outcome["is_error"] is True
    message = str(outcome["output"])
    assert "disk.img has 1,073,741,824 bytes" in message
    assert "10 MiB" in message and "view_range" in message and "bash" in message
    assert small(outcome), outcome


@pytest.mark.timeout(120)
def test_view_range_of_a_sparse_1_gb_file_reads_only_its_first_lines(workspace: Path) -> None:
    sparse(workspace / "disk.img", GIB, b"first\nsecond\nthird\n")
    outcome = in_child(workspace, command="view", path="disk.img", view_range=[2, 3])
    assert (outcome["output"], outcome["is_error"]) == ("2: second\n3: third", False)
    assert small(outcome), outcome
    # Line 4 is 1 GB of zeros: shown up to the output limit, then the view stops reading.
    outcome = in_child(workspace, command="view", path="disk.img", view_range=[4, 5])
    output = str(outcome["output"])
    assert outcome["is_error"] is False and output.startswith("4: \0\0\0")
    assert "the output was cut at 30000 characters, in line 4" in output
    assert small(outcome), outcome


@pytest.mark.timeout(120)
def test_view_range_of_a_big_file_returns_its_lines(workspace: Path) -> None:
    lines = 1_500_000
    (workspace / "big.log").write_text("".join(f"entry {n}\n" for n in range(1, lines + 1)))
    assert (workspace / "big.log").stat().st_size > MAX_FILE_BYTES
    outcome = in_child(workspace, command="view", path="big.log", view_range=[1_000_000, 1_000_002])
    assert (outcome["output"], outcome["is_error"]) == (
        "1000000: entry 1000000\n1000001: entry 1000001\n1000002: entry 1000002",
        False,
    )
    assert small(outcome), outcome
    outcome = in_child(workspace, command="view", path="big.log", view_range=[lines - 1, -1])
    assert outcome["output"] == f"{lines - 1}: entry {lines - 1}\n{lines}: entry {lines}\n{lines + 1}: "
    assert small(outcome), outcome
    outcome = in_child(workspace, command="view", path="big.log", view_range=[lines + 3, -1])
    assert outcome["is_error"] is True and f"the file has {lines + 1} lines" in str(outcome["output"])


@pytest.mark.timeout(120)
def test_str_replace_and_insert_refuse_a_50_mb_file_of_newlines(workspace: Path) -> None:
    path = workspace / "newlines.txt"
    path.write_bytes(b"\n" * 50_000_000)
    for tool_input in (
        {"command": "str_replace", "path": "newlines.txt", "old_str": "\n\n", "new_str": "x"},
        {"command": "insert", "path": "newlines.txt", "insert_line": 3, "new_str": "x"},
        {"command": "view", "path": "newlines.txt"},
    ):
        outcome = in_child(workspace, **tool_input)
        assert outcome["is_error"] is True, tool_input
        message = str(outcome["output"])
        assert "newlines.txt has 50,000,000 bytes" in message and "10 MiB (10,485,760 bytes)" in message
        assert "bash" in message
        assert small(outcome), (tool_input, outcome)
    assert path.stat().st_size == 50_000_000


def test_view_range_reads_no_further_than_its_lines(workspace: Path) -> None:
    # What follows line 3 is not UTF-8: a view that decoded the whole file would refuse it.
    (workspace / "mixed.txt").write_bytes(b"one\ntwo\nthree\n\xff\xfe binary tail")
    tool = EditorTool(workspace, max_output_chars=1_000)
    assert call(tool, command="view", path="mixed.txt", view_range=[2, 3]) == ("2: two\n3: three", False)
    output, is_error = call(tool, command="view", path="mixed.txt", view_range=[3, 4])
    assert is_error and "not a UTF-8 text file" in output


def test_view_range_refuses_to_search_too_far(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(editor_module, "MAX_SKIP_BYTES", 3 * 2**20)
    sparse(workspace / "disk.img", 10 * 2**20, b"first\n")
    output, is_error = call(
        EditorTool(workspace, max_output_chars=1_000), command="view", path="disk.img", view_range=[3, 4]
    )
    assert is_error and "line 3 of disk.img lies beyond its first 3 MiB" in output and "sed -n '3,4p'" in output


def test_a_long_view_range_is_cut_saying_where(workspace: Path) -> None:
    (workspace / "a.txt").write_text("".join(f"line {n}\n" for n in range(1, 1001)))
    output, is_error = call(
        EditorTool(workspace, max_output_chars=500), command="view", path="a.txt", view_range=[10, -1]
    )
    assert not is_error and output.startswith("10: line 10\n11: line 11\n")
    shown, note = output.split("\n\n[... ")
    assert len(shown) == 500
    assert note.startswith("the output was cut at 500 characters, in line ")
    at = int(note.split("in line ")[1].split(";")[0])  # lines before it are whole, it is not
    assert f"\n{at - 1}: line {at - 1}\n" in shown + "\n" and f"\n{at + 1}:" not in shown


def test_a_folder_view_reads_a_bounded_number_of_entries(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(editor_module, "MAX_LISTED_ENTRIES", 50)
    for n in range(40):
        (workspace / f"f{n:02d}").write_text("")
    (workspace / "sub").mkdir()
    for n in range(40):
        (workspace / "sub" / f"g{n:02d}").write_text("")
    output, is_error = call(EditorTool(workspace, max_output_chars=10_000), command="view", path=".")
    assert not is_error
    assert len([line for line in output.splitlines() if line.startswith(("f", "sub"))]) == 50
    assert "the listing stopped after reading 50 entries; use bash (ls, find)" in output
    monkeypatch.setattr(editor_module, "MAX_LISTED_ENTRIES", 81)  # exactly enough: no note
    output, _ = call(EditorTool(workspace, max_output_chars=10_000), command="view", path=".")
    assert "stopped" not in output and "sub/g39" in output


# --- the run's deadline ---


@pytest.mark.parametrize(
    "tool_input",
    [
        {"command": "view", "path": "a.txt"},
        {"command": "view", "path": "a.txt", "view_range": [1, 1]},
        {"command": "view", "path": "."},
        {"command": "create", "path": "b.txt", "file_text": "x"},
        {"command": "str_replace", "path": "a.txt", "old_str": "one", "new_str": "two"},
        {"command": "insert", "path": "a.txt", "insert_line": 0, "new_str": "zero"},
    ],
)
def test_no_command_starts_after_the_deadline(workspace: Path, tool_input: dict[str, object]) -> None:
    (workspace / "a.txt").write_text("one\n")
    tool = EditorTool(workspace, max_output_chars=1_000, deadline=0.0)
    with pytest.raises(RunTimeout, match="time limit"):
        tool(tool_input)
    assert (workspace / "a.txt").read_text() == "one\n" and not (workspace / "b.txt").exists()


def test_a_long_read_stops_at_the_deadline(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sparse(workspace / "disk.img", 200 * 2**20)
    reads = []
    real_read = os.read
    monkeypatch.setattr(editor_module.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    clock = iter(range(1_000_000))
    monkeypatch.setattr(editor_module, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    tool = EditorTool(workspace, max_output_chars=1_000, deadline=5)  # passes at the 6th look at the clock
    with pytest.raises(RunTimeout, match=r"while the editor was reading disk\.img"):
        tool({"command": "view", "path": "disk.img", "view_range": [2, 3]})
    assert len(reads) < 10, "it stopped after a few chunks, not at the end of 200 MiB"


def test_the_loop_gives_the_editor_the_run_deadline(
    fake_api: FakeMessagesAPI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace / "a.txt").write_text("one\n")
    # Only the editor's clock says the time is up; the loop's own checks see time left.
    monkeypatch.setattr(editor_module, "time", SimpleNamespace(monotonic=lambda: float("inf")))
    fake_api.enqueue(tool_use(("str_replace_based_edit_tool", {"command": "view", "path": "a.txt"})), text("ok"))
    request = AgentRequest(
        prompt="view a.txt",
        model="claude-sonnet-5-5",
        workdir=workspace,
        allowed_tools=ALL_TOOLS,
        max_turns=None,
        max_budget_usd=None,
        deadline=time.monotonic() + 30,
        interactive=False,
    )
    outcome = run_agent(request, AnthropicTransport(retries=0, sdk_max_retries=0, backoff_s=0.01), NullObserver())
    assert outcome.exit_code is ExitCode.TIMEOUT, outcome
    assert outcome.error is not None and "editor" in str(outcome.error)
    assert len(fake_api.requests) == 1


# --- the same results as before for files within the limits ---


def old_numbered(text: str) -> str:
    return "\n".join(f"{number}: {line}" for number, line in enumerate(text.split("\n"), 1))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text("ab\r\u00e9\U0001f600", max_size=40), max_size=40), st.integers(10, 300))
def test_whole_file_view_is_cut_as_before(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    assert numbered_and_cut(text, limit) == cut_output(old_numbered(text), limit)


def old_view_range(text: str, start: int, end: int) -> str | None:
    """The 0.1.0 view of lines start..end, or None where it was an error."""
    lines = text.split("\n")
    end = len(lines) if end == -1 else end
    if not 1 <= start <= len(lines) or end < start or end > len(lines):
        return None
    return "\n".join(f"{number}: {lines[number - 1]}" for number in range(start, end + 1))


def test_view_range_shows_what_it_showed_before(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    tool = EditorTool(workspace, max_output_chars=100_000)
    for chunk in (1, 3, 7, 2**20):  # lines and characters across chunk boundaries too
        monkeypatch.setattr(editor_module, "_CHUNK", chunk)
        for _ in range(150):
            text = "".join(rng.choices(["a", "b", "\n", "\r\n", "\u00e9", "\U0001f600", "\n\n"], k=rng.randint(0, 25)))
            (workspace / "f.txt").write_text(text, newline="")
            lines = text.count("\n") + 1
            start = rng.randint(0, lines + 2)
            end = rng.choice([-1, rng.randint(start - 1, lines + 2)])
            output, is_error = call(tool, command="view", path="f.txt", view_range=[start, end])
            expected = old_view_range(text, start, end)
            assert (output, is_error) == (expected, False) if expected is not None else is_error, (text, start, end)


def test_insert_gives_what_it_gave_before(workspace: Path) -> None:
    rng = random.Random(9)
    tool = EditorTool(workspace, max_output_chars=1_000)
    for _ in range(300):
        text = "".join(rng.choices(["a", "\n", "\u00e9"], k=rng.randint(0, 12)))
        new = "".join(rng.choices(["x", "\n"], k=rng.randint(0, 3)))
        (workspace / "f.txt").write_text(text, newline="")
        lines = text.split("\n")
        at = rng.randint(0, len(lines))
        assert call(tool, command="insert", path="f.txt", insert_line=at, new_str=new)[1] is False
        lines[at:at] = new.split("\n")
        assert (workspace / "f.txt").read_bytes().decode() == "\n".join(lines), (text, at, new)
