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

Memory and time are bounded whatever the workspace holds (issue 7, item 5):
- view without view_range, str_replace and insert read the whole file, so they refuse a
  file of more than MAX_FILE_BYTES (10 MiB) with an error that names the limit and the way
  on (view_range, or bash); its size is checked before a byte is read, so a sparse 1 GB
  file costs nothing. A whole-file view numbers only the lines it shows.
- view with view_range streams the file: it counts newlines to reach its first line (at
  most MAX_SKIP_BYTES, 256 MiB, of file before it), then reads no further than its last
  line or the output limit, whichever comes first; a cut output says at which line it
  stopped.
- a folder view reads at most MAX_LISTED_ENTRIES entries.
- every command checks the run's deadline before it starts and between chunks of 1 MiB;
  past it, the run ends with a timeout, as a bash command cut by the deadline does.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bassi_ci.agent.tools import ToolResult, cut_output
from bassi_ci.errors import RunTimeout

_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO must not hang the run; it is refused as not a regular file.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC

MAX_FILE_BYTES = 10 * 1024 * 1024  # view without view_range, str_replace, insert
MAX_SKIP_BYTES = 256 * 1024 * 1024  # what view_range reads at most before its first line
MAX_LISTED_ENTRIES = 10_000  # what a folder view reads at most, hidden entries included
_CHUNK = 1024 * 1024


class EditorError(Exception):
    """A problem the model should see as a tool error."""


class EditorTool:
    def __init__(self, workdir: Path, *, max_output_chars: int, deadline: float | None = None) -> None:
        self.root = Path(os.path.realpath(workdir))
        self.max_output_chars = max_output_chars
        self.deadline = deadline  # time.monotonic() value when the run must stop
        self.changed: list[str] = []

    def __call__(self, tool_input: dict[str, object]) -> ToolResult:
        """Run one command; RunTimeout (not a tool error) when the deadline passes before or
        while it runs."""
        self._check_deadline("before an editor command could start")
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
        if view_range is None:
            text = self._read_text(
                path,
                "view without view_range shows files",
                "View part of it with view_range [start, end] (it reads only up to the lines it shows), "
                "or use bash (head, tail, grep, sed -n 'START,ENDp').",
            )
            return numbered_and_cut(text, self.max_output_chars)
        if not isinstance(view_range, list) or len(view_range) != 2 or not all(isinstance(n, int) for n in view_range):
            raise EditorError("Error: view_range must be two integers [start, end].")
        start, end = view_range
        if start < 1 or (end != -1 and end < start):
            raise EditorError(
                f"Error: invalid view_range {view_range}; lines count from 1, and end is at least start "
                "or -1 for the last line."
            )
        with self._open_file(path) as fd:
            return self._view_lines(fd, self.relative(path), start, end, view_range)

    def _view_lines(self, fd: int, shown: str, start: int, end: int, view_range: object) -> str:
        """Lines start..end (-1: the last) numbered, read from `fd` no further than needed."""
        chunks = self._chunks(fd, shown)
        data, newlines = b"", 0
        last = "$" if end == -1 else end
        for data in chunks:  # skip to the first line by counting newlines
            found = data.count(b"\n")
            if newlines + found >= start - 1:
                data = data[_after_newline(data, start - 1 - newlines) :]
                break
            newlines += found
            if chunks.read > MAX_SKIP_BYTES:
                raise EditorError(
                    f"Error: line {start} of {shown} lies beyond its first {MAX_SKIP_BYTES // 2**20} MiB, "
                    f"as far as view_range reads to find it. Use bash (tail, grep -n, sed -n '{start},{last}p')."
                )
        else:
            if start > 1:  # an empty file has one line, empty
                raise EditorError(f"Error: invalid view_range {view_range}; the file has {newlines + 1} lines.")
        output = _Output(self.max_output_chars)
        decoder = codecs.getincrementaldecoder("utf-8")()
        number = start
        output.add(f"{number}: ")
        while True:
            position = 0
            while True:
                newline = data.find(b"\n", position)
                output.add(_decode(decoder, data[position : len(data) if newline == -1 else newline], shown))
                if output.cut or newline == -1:
                    break
                _decode(decoder, b"", shown, final=True)
                if number == end:
                    return output.text
                number += 1
                output.add(f"\n{number}: ")
                position = newline + 1
            if output.cut:
                return (
                    output.text + f"\n\n[... the output was cut at {self.max_output_chars} characters, in line "
                    f"{number}; a view_range starting there shows more; bash suits very long lines ...]"
                )
            data = next(chunks, b"")
            if not data:
                break
        _decode(decoder, b"", shown, final=True)
        if end not in (-1, number):
            raise EditorError(f"Error: invalid view_range {view_range}; the file has {number} lines.")
        return output.text

    def _listing(self, folder: Path) -> str:
        entries: list[str] = []
        shown = self.relative(folder)
        prefix = "" if shown == "." else shown + "/"
        budget = _Budget(MAX_LISTED_ENTRIES)  # shared by every folder listed
        with self._folder(self._parts(folder)) as fd:
            for name, is_dir in _entries(fd, budget):
                entries.append(prefix + name + ("/" if is_dir else ""))
                if is_dir and not budget.stopped:
                    self._check_deadline(f"while the editor was listing {shown}")
                    with self._folder((name,), start=fd) as child:
                        children = _entries(child, budget)
                        entries.extend(f"{prefix}{name}/{n}" + ("/" if d else "") for n, d in children)
        listing = "\n".join(entries) or "(empty)"
        if budget.stopped:
            listing += (
                f"\n[... the listing stopped after reading {MAX_LISTED_ENTRIES} entries; "
                "use bash (ls, find) for the rest ...]"
            )
        return f"Files and folders in {shown} (two levels deep):\n{listing}"

    def _create(self, path: Path, text: str) -> str:
        existed = self._lstat(path) is not None
        self._write(path, text)
        return f"{'Overwrote' if existed else 'Created'} {self.relative(path)}."

    def _str_replace(self, path: Path, old: str, new: str) -> str:
        content = self._read_text(path, _EDITS, _EDIT_ELSEWHERE)
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
        content = self._read_text(path, _EDITS, _EDIT_ELSEWHERE)
        lines = content.count("\n") + 1
        if not isinstance(insert_line, int) or not 0 <= insert_line <= lines:
            raise EditorError(f"Error: insert_line must be an integer from 0 to {lines} for this file.")
        # As joining the file's lines with `new`'s lines put after line insert_line.
        if insert_line == 0:
            edited = new + "\n" + content
        elif insert_line == lines:
            edited = content + "\n" + new
        else:
            at = _nth_newline(content, insert_line)
            edited = content[:at] + "\n" + new + content[at:]
        self._write(path, edited)
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

    @contextlib.contextmanager
    def _open_file(self, path: Path) -> Iterator[int]:
        """A descriptor of the regular file `path`, opened inside the folder walk."""
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
        try:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                raise EditorError(f"Error: {shown} is a folder; this command needs a file.")
            if not stat.S_ISREG(mode):
                raise EditorError(f"Error: {shown} is not a regular file.")
            yield fd
        finally:
            os.close(fd)

    def _read_text(self, path: Path, what: str, way_on: str) -> str:
        """The whole file, when it has at most MAX_FILE_BYTES; else an error saying that
        `what` of at most that size, and `way_on`."""
        shown = self.relative(path)
        parts: list[bytes] = []
        with self._open_file(path) as fd:
            size = os.fstat(fd).st_size
            if size <= MAX_FILE_BYTES:
                total = 0
                chunks = self._chunks(fd, shown)
                for chunk in chunks:  # the file may grow while it is read: stop past the limit
                    parts.append(chunk)
                    total += len(chunk)
                    if total > MAX_FILE_BYTES:
                        size = total
                        break
            if size > MAX_FILE_BYTES:
                raise EditorError(
                    f"Error: {shown} has {size:,} bytes; {what} of at most "
                    f"{MAX_FILE_BYTES // 2**20} MiB ({MAX_FILE_BYTES:,} bytes). {way_on}"
                )
        try:
            return b"".join(parts).decode("utf-8")
        except UnicodeDecodeError:
            raise EditorError(f"Error: {shown} is not a UTF-8 text file.") from None

    def _chunks(self, fd: int, shown: str) -> _Chunks:
        return _Chunks(fd, lambda: self._check_deadline(f"while the editor was reading {shown}"))

    def _check_deadline(self, when: str) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise RunTimeout(f"the run's time limit was reached {when}")

    def _write(self, path: Path, text: str) -> None:
        self._check_deadline(f"before the editor wrote {self.relative(path)}")
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


_EDITS = "str_replace and insert edit files"
_EDIT_ELSEWHERE = "Edit it with bash instead (sed -i, or a short script), or view parts of it with view_range."


class _Chunks:
    """The rest of a file in chunks of _CHUNK bytes, calling `check` before each read;
    `read` counts the bytes read so far."""

    def __init__(self, fd: int, check: Callable[[], None]) -> None:
        self.fd = fd
        self.check = check
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        self.check()
        data = os.read(self.fd, _CHUNK)
        if not data:
            raise StopIteration
        self.read += len(data)
        return data


class _Output:
    """Text collected up to `limit` characters; `cut` once some had to be left out."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.cut = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, text: str) -> None:
        room = self.limit - self.size
        if len(text) > room:
            text, self.cut = text[:room], True
        self.parts.append(text)
        self.size += len(text)


class _Budget:
    """How many folder entries a listing may still read, and whether it had to stop."""

    def __init__(self, entries: int) -> None:
        self.left = entries
        self.stopped = False


def _decode(decoder: codecs.IncrementalDecoder, data: bytes, shown: str, *, final: bool = False) -> str:
    try:
        return str(decoder.decode(data, final))
    except UnicodeDecodeError:
        raise EditorError(f"Error: {shown} is not a UTF-8 text file.") from None


def _after_newline(data: bytes, count: int) -> int:
    """The index just after the `count`-th newline of `data` (0 for count 0); data has that many."""
    if count == 0:
        return 0
    start = 0
    while (found := data.count(b"\n", start, start + 4096)) < count:  # whole blocks at C speed
        count -= found
        start += 4096
    position = start - 1
    for _ in range(count):
        position = data.index(b"\n", position + 1)
    return position + 1


def _nth_newline(text: str, count: int) -> int:
    """The index of the `count`-th newline (from 1) of `text`, which has that many."""
    start = 0
    while (found := text.count("\n", start, start + 4096)) < count:
        count -= found
        start += 4096
    position = start - 1
    for _ in range(count):
        position = text.index("\n", position + 1)
    return position


def numbered_and_cut(text: str, limit: int) -> str:
    """cut_output of `text`'s lines numbered "N: line", joined by newlines, building only the
    head and the tail that are shown: a file of ten million short lines costs no more."""
    lines = text.count("\n") + 1
    total = len(text) + _number_prefixes_length(lines)
    if total <= limit:
        return "\n".join(f"{number}: {line}" for number, line in enumerate(text.split("\n"), 1))
    head_size = limit // 2
    tail_size = limit - head_size
    head: list[str] = []
    size, number, position = 0, 1, 0
    while size < head_size:
        newline = text.find("\n", position)
        line_end = len(text) if newline == -1 else newline
        piece = f"{number}: {text[position : min(line_end, position + head_size)]}\n"
        head.append(piece)
        size += len(piece)
        number, position = number + 1, line_end + 1
        if newline == -1:
            break
    tail: list[str] = []
    size, number, line_end = 0, lines, len(text)
    while size < tail_size:
        line_start = text.rfind("\n", 0, line_end) + 1
        if line_end - line_start >= tail_size - size:  # this line fills the tail by itself
            tail.append(text[line_end - (tail_size - size) : line_end])
            break
        piece = f"\n{number}: {text[line_start:line_end]}"
        tail.append(piece)
        size += len(piece)
        number, line_end = number - 1, line_start - 1
    shown_head = "".join(head)[:head_size]
    shown_tail = "".join(reversed(tail))[-tail_size:]
    cut = total - limit
    return f"{shown_head}\n\n[... {cut} characters cut; the output had {total} characters ...]\n\n{shown_tail}"


def _number_prefixes_length(lines: int) -> int:
    """len("1: ") + len("2: ") + … + len(f"{lines}: ")."""
    total, digits, first = 2 * lines, 1, 1
    while first <= lines:
        total += digits * (min(lines, first * 10 - 1) - first + 1)
        digits, first = digits + 1, first * 10
    return total


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


def _entries(folder: int, budget: _Budget) -> list[tuple[str, bool]]:
    """(name, is a real folder) for the visible entries of an open folder, sorted; what it
    reads (hidden entries included) comes off the budget, and it stops when that is spent."""
    found = []
    with os.scandir(folder) as scan:
        for entry in scan:
            if budget.left <= 0:
                budget.stopped = True
                break
            budget.left -= 1
            if not entry.name.startswith("."):
                found.append((entry.name, entry.is_dir(follow_symlinks=False)))
    return sorted(found)
