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

That check alone is racy: a bash background job can swap a checked folder for a symlink
before the file is opened. So every read and write then walks from the workspace root one
folder at a time with O_NOFOLLOW, relative to the folder already opened, and works inside
the last folder's descriptor; a symlink met on the way is refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from bassi_ci.agent.tools import ToolResult, cut_output

_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO must not hang the run; it is refused as not a regular file.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


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
        except (OSError, ValueError) as problem:  # ValueError: a NUL byte in a path
            return ToolResult(f"Error: {getattr(problem, 'strerror', None) or problem}", True)

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
        raise EditorError(f"Error: unknown command {command!r}; use view, create, str_replace or insert.")

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
        found = self._lstat(path)
        if found is not None and stat.S_ISDIR(found.st_mode):
            return cut_output(self._listing(path), self.max_output_chars)
        lines = self._read_text(path).split("\n")
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
                raise EditorError(f"Error: invalid view_range {view_range}; the file has {len(lines)} lines.")
        numbered = "\n".join(f"{number}: {lines[number - 1]}" for number in range(start, end + 1))
        return cut_output(numbered, self.max_output_chars)

    def _listing(self, folder: Path) -> str:
        entries: list[str] = []
        shown = self.relative(folder)
        prefix = "" if shown == "." else shown + "/"
        with self._folder(self._parts(folder)) as fd:
            for name, is_dir in _entries(fd):
                entries.append(prefix + name + ("/" if is_dir else ""))
                if is_dir:
                    with self._folder((name,), start=fd) as child:
                        entries.extend(f"{prefix}{name}/{n}" + ("/" if d else "") for n, d in _entries(child))
        listing = "\n".join(entries) or "(empty)"
        return f"Files and folders in {shown} (two levels deep):\n{listing}"

    def _create(self, path: Path, text: str) -> str:
        existed = self._lstat(path) is not None
        self._write(path, text)
        return f"{'Overwrote' if existed else 'Created'} {self.relative(path)}."

    def _str_replace(self, path: Path, old: str, new: str) -> str:
        content = self._read_text(path)
        count = content.count(old) if old else 0
        if count == 0:
            raise EditorError(
                f"Error: no match for old_str in {self.relative(path)}; it must match exactly, whitespace included."
            )
        if count > 1:
            raise EditorError(
                f"Error: old_str matches {count} times in {self.relative(path)}; "
                "include more context so that it matches exactly once."
            )
        self._write(path, content.replace(old, new, 1))
        return f"Edited {self.relative(path)}: replaced 1 occurrence."

    def _insert(self, path: Path, insert_line: object, new: str) -> str:
        content = self._read_text(path)
        lines = content.split("\n")
        if not isinstance(insert_line, int) or not 0 <= insert_line <= len(lines):
            raise EditorError(f"Error: insert_line must be an integer from 0 to {len(lines)} for this file.")
        lines[insert_line:insert_line] = new.split("\n")
        self._write(path, "\n".join(lines))
        return f"Inserted text after line {insert_line} of {self.relative(path)}."

    def _parts(self, path: Path) -> tuple[str, ...]:
        return path.relative_to(self.root).parts

    @contextlib.contextmanager
    def _folder(self, parts: tuple[str, ...], *, create: bool = False, start: int | None = None) -> Iterator[int]:
        """A descriptor of the folder `parts` below `start` (the workspace root by default),
        opened one name at a time without following symlinks; `create` makes missing folders."""
        # The root itself went through realpath() in __init__: it may be reached via symlinks.
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) if start is None else os.dup(start)
        try:
            for name in parts:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, dir_fd=fd)
                try:
                    child = os.open(name, _FOLDER_FLAGS, dir_fd=fd)
                except OSError as problem:
                    _refuse_symlink(problem, name, fd)
                    raise
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _lstat(self, path: Path) -> os.stat_result | None:
        """The status of `path` itself (not a symlink's target); None when it does not exist."""
        parts = self._parts(path)
        try:
            with self._folder(parts[:-1]) as fd:
                return os.stat(parts[-1] if parts else ".", dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _read_text(self, path: Path) -> str:
        shown = self.relative(path)
        parts = self._parts(path) or (".",)
        try:
            with self._folder(parts[:-1]) as folder:
                try:
                    fd = os.open(parts[-1], _READ_FLAGS, dir_fd=folder)
                except OSError as problem:
                    _refuse_symlink(problem, parts[-1], folder)
                    raise
        except FileNotFoundError:
            raise EditorError(f"Error: {shown} does not exist.") from None
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise EditorError(f"Error: {shown} is a folder; this command needs a file.")
            if not stat.S_ISREG(mode):
                raise EditorError(f"Error: {shown} is not a regular file.")
            data = handle.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise EditorError(f"Error: {shown} is not a UTF-8 text file.") from None

    def _write(self, path: Path, text: str) -> None:
        parts = self._parts(path)
        if not parts:
            raise EditorError("Error: . is a folder.")
        name = parts[-1]
        with self._folder(parts[:-1], create=True) as folder:
            keep_mode: int | None = None
            with contextlib.suppress(FileNotFoundError):
                existing = os.stat(name, dir_fd=folder, follow_symlinks=False)
                if stat.S_ISDIR(existing.st_mode):
                    raise EditorError(f"Error: {self.relative(path)} is a folder.")
                if stat.S_ISREG(existing.st_mode):
                    keep_mode = stat.S_IMODE(existing.st_mode)
            tmp_name = f".{name}.{secrets.token_hex(4)}.tmp"
            fd = os.open(tmp_name, _NEW_FILE_FLAGS, 0o666, dir_fd=folder)  # the umask applies
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                    if keep_mode is not None:
                        os.fchmod(fd, keep_mode)
                    handle.write(text)
                # rename() replaces a symlink at `name` itself, never what it points to.
                os.replace(tmp_name, name, src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name, dir_fd=folder)
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


def _refuse_symlink(problem: OSError, name: str, folder: int) -> None:
    """Turn "O_NOFOLLOW met a symlink" (ELOOP, or ENOTDIR with O_DIRECTORY) into a refusal."""
    if problem.errno not in (errno.ELOOP, errno.ENOTDIR):
        return
    with contextlib.suppress(OSError):
        if stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode):
            raise EditorError(
                f"Error: {name} is a symlink that appeared after the path was checked; access was refused."
            ) from None


def _entries(folder: int) -> list[tuple[str, bool]]:
    """(name, is a real folder) for the visible entries of an open folder, sorted."""
    with os.scandir(folder) as scan:
        return sorted(
            (entry.name, entry.is_dir(follow_symlinks=False)) for entry in scan if not entry.name.startswith(".")
        )
