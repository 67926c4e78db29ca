"""Memory and time of the editor tool on big files (issue 7, item 5).

Run: python benchmarks/bench_editor.py
Each command runs in a fresh child process; printed: wall and CPU time of the command and
the child's peak RSS (VmHWM, Linux; ru_maxrss elsewhere), beside a child that only imports
the editor. Files: a sparse 1 GB file, 50 MB of newlines, and files just under the 10 MiB
limit of whole-file commands (short lines; one non-ASCII character, which makes Python
store the text with 4 bytes a character).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bassi_ci.agent.tools.editor import MAX_FILE_BYTES  # noqa: E402

CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from bassi_ci.agent.tools.editor import EditorTool

def peak_mib():
    try:
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) for l in status if l.startswith("VmHWM")) / 1024
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20

tool = EditorTool(Path(sys.argv[2]), max_output_chars=30_000)
tool_input = json.loads(sys.argv[3])
wall, cpu = time.perf_counter(), time.process_time()
result = tool(tool_input) if tool_input else None
print(json.dumps({
    "wall": time.perf_counter() - wall,
    "cpu": time.process_time() - cpu,
    "peak": peak_mib(),
    "error": None if result is None or not result.is_error else result.output[:70],
}))
"""


def measure(workspace: Path, tool_input: dict[str, object]) -> dict[str, float | str | None]:
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), str(workspace), json.dumps(tool_input)],
        capture_output=True,
        text=True,
        check=True,
        cwd=workspace,
    )
    figures: dict[str, float | str | None] = json.loads(child.stdout)
    return figures


def view(path: str, view_range: list[int] | None = None) -> dict[str, object]:
    return {"command": "view", "path": path} | ({"view_range": view_range} if view_range else {})


def replace(path: str, old: str = "nowhere") -> dict[str, object]:
    return {"command": "str_replace", "path": path, "old_str": old, "new_str": "x"}


def insert(path: str, line: int) -> dict[str, object]:
    return {"command": "insert", "path": path, "insert_line": line, "new_str": "x"}


def make_files(workspace: Path) -> None:
    with (workspace / "sparse.img").open("wb") as handle:
        handle.write(b"first\nsecond\nthird\n")
        handle.truncate(2**30)
    (workspace / "newlines.txt").write_bytes(b"\n" * 50_000_000)
    lines = b"ab\n" * ((MAX_FILE_BYTES - 10) // 3)
    (workspace / "short-lines.txt").write_bytes(lines + b"END")
    (workspace / "wide.txt").write_bytes("\U0001f600\n".encode() + lines[: MAX_FILE_BYTES - 10])
    (workspace / "log.txt").write_bytes(b"".join(b"entry %d\n" % n for n in range(1, 3_000_001)))


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bassi-bench-editor-") as folder:
        workspace = Path(folder)
        make_files(workspace)
        base = measure(workspace, {})
        print(f"a child that imports the editor: peak RSS {base['peak']:.0f} MiB")
        middle = (MAX_FILE_BYTES - 10) // 6
        cases: list[tuple[str, dict[str, object]]] = [
            ("view, sparse 1 GB", view("sparse.img")),
            ("view_range [2, 3], sparse 1 GB", view("sparse.img", [2, 3])),
            ("view_range [4, 5] (a 1 GB line), sparse 1 GB", view("sparse.img", [4, 5])),
            ("view, 50 MB of newlines", view("newlines.txt")),
            ("str_replace, 50 MB of newlines", replace("newlines.txt")),
            ("insert, 50 MB of newlines", insert("newlines.txt", 3)),
            ("view_range [49,999,999, -1], 50 MB of newlines", view("newlines.txt", [49_999_999, -1])),
            ("view_range [2,000,000, +2], 25 MB log", view("log.txt", [2_000_000, 2_000_002])),
            ("view, 10 MiB of 'ab' lines", view("short-lines.txt")),
            ("str_replace (no match), 10 MiB of 'ab' lines", replace("short-lines.txt")),
            ("str_replace (one match), 10 MiB of 'ab' lines", replace("short-lines.txt", "END")),
            ("insert in the middle, 10 MiB of 'ab' lines", insert("short-lines.txt", middle)),
            ("view, 10 MiB with one emoji", view("wide.txt")),
            ("insert at line 1, 10 MiB with one emoji", insert("wide.txt", 1)),
        ]
        for label, tool_input in cases:
            figures = measure(workspace, tool_input)
            error = f"  error: {figures['error']}…" if figures["error"] else ""
            print(
                f"  {label:<48} wall {figures['wall']:6.3f} s  cpu {figures['cpu']:6.3f} s  "
                f"peak RSS {figures['peak']:5.0f} MiB{error}"
            )


if __name__ == "__main__":
    main()
