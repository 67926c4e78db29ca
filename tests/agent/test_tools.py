"""The editor and bash tools on their own, on real folders and processes."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bassi_ci.agent.tools import cut_output, tool_definitions
from bassi_ci.agent.tools.bash import BashTool
from bassi_ci.agent.tools.containment import Supervised
from bassi_ci.agent.tools.editor import EditorTool
from bassi_ci.errors import RunTimeout
from tests.agent.helpers import alive, wait_gone


@pytest.fixture
def editor(tmp_path: Path) -> EditorTool:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    return EditorTool(workspace, max_output_chars=10_000)


def call(editor: EditorTool, **tool_input: object) -> tuple[str, bool]:
    result = editor(dict(tool_input))
    return result.output, result.is_error


def test_view_file_with_line_numbers_and_range(editor: EditorTool) -> None:
    (editor.root / "a.txt").write_text("one\ntwo\nthree\nfour")
    assert call(editor, command="view", path="a.txt") == ("1: one\n2: two\n3: three\n4: four", False)
    assert call(editor, command="view", path="a.txt", view_range=[2, 3]) == ("2: two\n3: three", False)
    assert call(editor, command="view", path="a.txt", view_range=[3, -1]) == ("3: three\n4: four", False)
    output, is_error = call(editor, command="view", path="a.txt", view_range=[3, 9])
    assert is_error and "the file has 4 lines" in output


def test_view_directory_two_levels_without_hidden(editor: EditorTool) -> None:
    (editor.root / "src/pkg/deep").mkdir(parents=True)
    (editor.root / "src/pkg/deep/x.py").write_text("")
    (editor.root / "src/main.py").write_text("")
    (editor.root / ".git").mkdir()
    (editor.root / "README").write_text("")
    output, is_error = call(editor, command="view", path=".")
    assert not is_error
    assert output.splitlines()[1:] == ["README", "src/", "src/main.py", "src/pkg/"]


def test_str_replace_must_match_exactly_once(editor: EditorTool) -> None:
    (editor.root / "a.txt").write_text("x = 1\nx = 1\ny = 2\n")
    output, is_error = call(editor, command="str_replace", path="a.txt", old_str="x = 1", new_str="x = 3")
    assert is_error and "matches 2 times" in output
    output, is_error = call(editor, command="str_replace", path="a.txt", old_str="z = 1", new_str="")
    assert is_error and "no match" in output
    assert call(editor, command="str_replace", path="a.txt", old_str="y = 2\n", new_str="")[1] is False
    assert (editor.root / "a.txt").read_text() == "x = 1\nx = 1\n"
    assert editor.changed == ["a.txt"]


def test_insert_at_top_and_end(editor: EditorTool) -> None:
    (editor.root / "a.txt").write_text("b\nc")
    assert not call(editor, command="insert", path="a.txt", insert_line=0, new_str="a")[1]
    assert not call(editor, command="insert", path="a.txt", insert_line=3, new_str="d")[1]
    assert (editor.root / "a.txt").read_text() == "a\nb\nc\nd"
    output, is_error = call(editor, command="insert", path="a.txt", insert_line=9, new_str="z")
    assert is_error and "from 0 to 4" in output


def test_create_keeps_the_mode_of_an_existing_file(editor: EditorTool) -> None:
    script = editor.root / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert call(editor, command="create", path="run.sh", file_text="#!/bin/sh\necho hi\n") == (
        "Overwrote run.sh.",
        False,
    )
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert script.read_text() == "#!/bin/sh\necho hi\n"
    assert [p.name for p in editor.root.iterdir()] == ["run.sh"], "no temporary file left behind"


def test_errors_the_model_can_act_on(editor: EditorTool) -> None:
    assert "does not exist" in call(editor, command="view", path="missing.txt")[0]
    assert "undo_edit is not supported" in call(editor, command="undo_edit", path="a.txt")[0]
    assert "unknown command" in call(editor, command="delete", path="a.txt")[0]
    assert "`file_text` is required" in call(editor, command="create", path="a.txt")[0]
    (editor.root / "bin.dat").write_bytes(b"\xff\xfe\x00")
    assert "not a UTF-8 text file" in call(editor, command="view", path="bin.dat")[0]


@given(st.lists(st.sampled_from(["..", ".", "a", "b", "/", "/etc", "link", "~"]), min_size=1, max_size=6))
def test_no_path_resolves_outside_the_workspace(tmp_path_factory: pytest.TempPathFactory, parts: list[str]) -> None:
    root = tmp_path_factory.mktemp("prop")
    workspace = root / "ws"
    (workspace / "a").mkdir(parents=True)
    (workspace / "link").symlink_to(root)
    editor = EditorTool(workspace, max_output_chars=1_000)
    output, is_error = call(editor, command="create", path="/".join(parts) + "/f.txt", file_text="x")
    written = [p for p in root.rglob("f.txt")]
    for path in written:
        assert workspace.resolve() in path.resolve().parents
    if is_error and written:
        pytest.fail(f"error reported but a file was written: {output}")


@given(st.text(max_size=3_000), st.integers(min_value=10, max_value=2_000))
def test_cut_output_keeps_head_and_tail_and_counts_the_cut(text: str, limit: int) -> None:
    result = cut_output(text, limit)
    if len(text) <= limit:
        assert result == text
    else:
        assert f"[... {len(text) - limit} characters cut" in result
        assert result.startswith(text[: limit // 2])
        assert result.endswith(text[len(text) - (limit - limit // 2) :])


def test_tool_definitions_follow_the_allow_list() -> None:
    assert tool_definitions(()) == []
    assert [t["name"] for t in tool_definitions(("ask_user", "bash"))] == ["bash", "ask_user"]


def test_bash_restart_and_exit_codes(tmp_path: Path) -> None:
    bash = BashTool(tmp_path, timeout_s=5, max_output_chars=1_000)
    result = bash({"command": "echo out; echo err >&2; exit 3"}, None)
    assert result.output == "out\nerr\n\n[exit code: 3]"
    assert bash({"restart": True}, None).output == "tool has been restarted."
    assert bash({}, None).is_error


def test_bash_deadline_already_passed(tmp_path: Path) -> None:
    bash = BashTool(tmp_path, timeout_s=5, max_output_chars=1_000)
    with pytest.raises(RunTimeout):
        bash({"command": "true"}, time.monotonic() - 1)


def test_bash_runs_in_its_own_session(tmp_path: Path) -> None:
    bash = BashTool(tmp_path, timeout_s=5, max_output_chars=1_000)
    command = f"{sys.executable} -c 'import os; print(os.getsid(0))'"
    output = bash({"command": command}, None).output.strip()
    assert int(output) != os.getsid(0)


def test_editor_turns_a_nul_byte_into_a_tool_error(editor: EditorTool) -> None:
    for tool_input in (
        {"command": "create", "path": "a\0b.txt", "file_text": "x"},
        {"command": "view", "path": "\0"},
    ):
        output, is_error = call(editor, **tool_input)
        assert is_error and "null byte" in output


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("secret\n")
    return folder


def test_symlink_that_appears_after_the_check_is_refused(
    editor: EditorTool, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (editor.root / "sub").symlink_to(outside)
    # As if every check ran while `sub` was still a real folder, then a background job swapped it.
    monkeypatch.setattr(EditorTool, "resolve", lambda self, raw: self.root / raw)
    for tool_input in (
        {"command": "create", "path": "sub/new.txt", "file_text": "x"},
        {"command": "create", "path": "sub/deeper/new.txt", "file_text": "x"},
        {"command": "create", "path": "sub/secret.txt", "file_text": "overwritten"},
        {"command": "view", "path": "sub/secret.txt"},
        {"command": "view", "path": "sub"},
        {"command": "str_replace", "path": "sub/secret.txt", "old_str": "secret", "new_str": "x"},
        {"command": "insert", "path": "sub/secret.txt", "insert_line": 0, "new_str": "x"},
    ):
        output, is_error = call(editor, **tool_input)
        assert is_error, tool_input
        assert "symlink" in output and "refused" in output and "secret\n" not in output
    assert [p.name for p in outside.iterdir()] == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret\n"


def test_file_symlink_that_appears_after_the_check_is_not_followed(
    editor: EditorTool, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = editor.root / "notes.txt"
    link.symlink_to(outside / "secret.txt")
    monkeypatch.setattr(EditorTool, "resolve", lambda self, raw: self.root / raw)
    output, is_error = call(editor, command="view", path="notes.txt")
    assert is_error and "refused" in output
    # Overwriting replaces the link itself; the file it pointed to is untouched.
    assert call(editor, command="create", path="notes.txt", file_text="mine\n")[1] is False
    assert not link.is_symlink() and link.read_text() == "mine\n"
    assert (outside / "secret.txt").read_text() == "secret\n"


def test_symlinks_inside_the_workspace_still_work(editor: EditorTool) -> None:
    (editor.root / "real").mkdir()
    (editor.root / "alias").symlink_to(editor.root / "real")
    assert call(editor, command="create", path="alias/f.txt", file_text="x") == ("Created real/f.txt.", False)
    assert (editor.root / "real/f.txt").read_text() == "x"


def test_bash_turns_a_nul_byte_into_a_tool_error(tmp_path: Path) -> None:
    result = BashTool(tmp_path, timeout_s=5, max_output_chars=1_000)({"command": "echo a\0b"}, None)
    assert result.is_error and "null byte" in result.output


def test_interrupt_while_waiting_for_a_command_does_not_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The worst moment for SIGINT/SIGTERM: inside the wait for the command, with the
    # supervisor's Popen lock taken (as an interrupted Popen.wait() leaves it). Any later
    # process.wait() would then block for ever; the cleanup must not use one.
    def interrupted_wait(self: Supervised, timeout_s: float) -> int | None:
        end = time.monotonic() + 10
        while not (tmp_path / "leader.pid").exists() and time.monotonic() < end:
            time.sleep(0.01)
        self.process._waitpid_lock.acquire()  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    monkeypatch.setattr(Supervised, "wait", interrupted_wait)
    bash = BashTool(tmp_path, timeout_s=30, max_output_chars=1_000)
    interrupted = threading.Event()

    def call_bash() -> None:
        try:
            bash({"command": "echo $$ > leader.pid; exec sleep 30"}, None)
        except KeyboardInterrupt:
            interrupted.set()

    worker = threading.Thread(target=call_bash, daemon=True)
    worker.start()
    worker.join(timeout=5)

    assert not worker.is_alive(), "the cleanup blocked on Popen's lock"
    assert interrupted.is_set()
    assert wait_gone(int((tmp_path / "leader.pid").read_text()))


def test_close_kills_processes_that_left_the_process_group(tmp_path: Path) -> None:
    bash = BashTool(tmp_path, timeout_s=5, max_output_chars=1_000)
    command = (
        "setsid sh -c 'echo $$ > escaped.pid; exec sleep 300' >/dev/null 2>&1 & "
        "while [ ! -s escaped.pid ]; do sleep 0.01; done"
    )
    assert not bash({"command": command}, None).is_error
    escaped = int((tmp_path / "escaped.pid").read_text())
    try:
        assert alive(escaped) and os.getsid(escaped) == escaped
        bash.close()
        assert wait_gone(escaped)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(escaped, signal.SIGKILL)
