"""The text editor tool (`str_replace_based_edit_tool`, type text_editor_20250728).

Commands: view (a file with line numbers, optionally `view_range` [start, end] with end -1
for the end of the file; or a directory, two levels deep, hidden entries left out),
create (writes `file_text`, creating parent folders; an existing file is overwritten),
str_replace (`old_str` must match exactly once; `new_str` defaults to ""), insert
(`new_str` after line `insert_line`, 0 for the top). undo_edit does not exist in this
tool version.

Every path is resolved inside the workspace: relative paths start at the workspace, an
absolute path must lie inside it, and symlinks are followed before the check, so `..`,
outside absolute paths and symlinks that lead out are refused with an error the model
sees. Nothing is read or written outside. Writes go to a temporary file beside the
target and are renamed into place, keeping the file's permissions.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bassi_ci.agent.tools import ToolResult, cut_output


class EditorError(Exception):
    """A problem the model should see as a tool error."""


class EditorTool:
    def __init__(self, workdir: Path, *, max_output_chars: int) -> None:
        self.root = Path(os.path.realpath(workdir))
        self.max_output_chars = max_output_chars
        self.changed: list[str] = []

    def __call__(self, tool_input: dict[str, object]) -> ToolResult:
        try:
            return ToolResult(self._dispatch(tool_input))
        except EditorError as problem:
            return ToolResult(str(problem), True)
        except OSError as problem:
            return ToolResult(f"Error: {problem.strerror or problem}", True)

    def _dispatch(self, tool_input: dict[str, object]) -> str:
        command = tool_input.get("command")
        raw_path = tool_input.get("path")
        if not isinstance(raw_path, str) or not raw_path:
            raise EditorError("Error: `path` is required.")
        path = self.resolve(raw_path)
        if command == "view":
            return self._view(path, tool_input.get("view_range"))
        if command == "create":
            return self._create(path, _text(tool_input, "file_text", required=True))
        if command == "str_replace":
            old = _text(tool_input, "old_str", required=True)
            return self._str_replace(path, old, _text(tool_input, "new_str"))
        if command == "insert":
            new = _text(tool_input, "new_str") or _text(tool_input, "insert_text")
            return self._insert(path, tool_input.get("insert_line"), new)
        if command == "undo_edit":
            raise EditorError("Error: undo_edit is not supported by this editor version.")
        raise EditorError(
            f"Error: unknown command {command!r}; use view, create, str_replace or insert."
        )

    def resolve(self, raw: str) -> Path:
        """The real path for `raw`, or EditorError when it is outside the workspace."""
        candidate = Path(raw) if os.path.isabs(raw) else self.root / raw
        real = Path(os.path.realpath(candidate))
        if real != self.root and self.root not in real.parents:
            raise EditorError(
                f"Error: {raw} is outside the workspace ({self.root}); "
                "use a path relative to the workspace. Access was refused."
            )
        return real

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix() or "."

    def _view(self, path: Path, view_range: object) -> str:
        if path.is_dir():
            return cut_output(self._listing(path), self.max_output_chars)
        lines = _read_text(path, self.relative(path)).split("\n")
        start, end = 1, len(lines)
        if view_range is not None:
            if (
                not isinstance(view_range, list)
                or len(view_range) != 2
                or not all(isinstance(n, int) for n in view_range)
            ):
                raise EditorError("Error: view_range must be two integers [start, end].")
            start, end = view_range
            end = len(lines) if end == -1 else end
            if not 1 <= start <= len(lines) or end < start or end > len(lines):
                raise EditorError(
                    f"Error: invalid view_range {view_range}; the file has {len(lines)} lines."
                )
        numbered = "\n".join(f"{number}: {lines[number - 1]}" for number in range(start, end + 1))
        return cut_output(numbered, self.max_output_chars)

    def _listing(self, folder: Path) -> str:
        entries: list[str] = []
        for child in sorted(folder.iterdir()):
            if child.name.startswith("."):
                continue
            entries.append(self.relative(child) + ("/" if child.is_dir() else ""))
            if child.is_dir() and not child.is_symlink():
                for grandchild in sorted(child.iterdir()):
                    if not grandchild.name.startswith("."):
                        suffix = "/" if grandchild.is_dir() else ""
                        entries.append(self.relative(grandchild) + suffix)
        listing = "\n".join(entries) or "(empty)"
        return f"Files and folders in {self.relative(folder)} (two levels deep):\n{listing}"

    def _create(self, path: Path, text: str) -> str:
        if path.is_dir():
            raise EditorError(f"Error: {self.relative(path)} is a folder.")
        existed = path.exists()
        self._write(path, text)
        return f"{'Overwrote' if existed else 'Created'} {self.relative(path)}."

    def _str_replace(self, path: Path, old: str, new: str) -> str:
        content = _read_text(path, self.relative(path))
        count = content.count(old) if old else 0
        if count == 0:
            raise EditorError(
                f"Error: no match for old_str in {self.relative(path)}; it must match exactly, "
                "whitespace included."
            )
        if count > 1:
            raise EditorError(
                f"Error: old_str matches {count} times in {self.relative(path)}; "
                "include more context so that it matches exactly once."
            )
        self._write(path, content.replace(old, new, 1))
        return f"Edited {self.relative(path)}: replaced 1 occurrence."

    def _insert(self, path: Path, insert_line: object, new: str) -> str:
        content = _read_text(path, self.relative(path))
        lines = content.split("\n")
        if not isinstance(insert_line, int) or not 0 <= insert_line <= len(lines):
            raise EditorError(
                f"Error: insert_line must be an integer from 0 to {len(lines)} for this file."
            )
        lines[insert_line:insert_line] = new.split("\n")
        self._write(path, "\n".join(lines))
        return f"Inserted text after line {insert_line} of {self.relative(path)}."

    def _write(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The folders just made are inside the workspace, but re-check: a symlink may have
        # appeared since resolve().
        self.resolve(str(path))
        mode = path.stat().st_mode & 0o7777 if path.exists() else None
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            if mode is None:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.chmod(tmp_name, mode)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        relative = self.relative(path)
        if relative not in self.changed:
            self.changed.append(relative)


def _text(tool_input: dict[str, object], key: str, *, required: bool = False) -> str:
    value = tool_input.get(key)
    if value is None:
        if required:
            raise EditorError(f"Error: `{key}` is required for this command.")
        return ""
    if not isinstance(value, str):
        raise EditorError(f"Error: `{key}` must be a string.")
    return value


def _read_text(path: Path, shown: str) -> str:
    if not path.exists():
        raise EditorError(f"Error: {shown} does not exist.")
    if path.is_dir():
        raise EditorError(f"Error: {shown} is a folder; this command needs a file.")
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return handle.read()
    except UnicodeDecodeError:
        raise EditorError(f"Error: {shown} is not a UTF-8 text file.") from None
