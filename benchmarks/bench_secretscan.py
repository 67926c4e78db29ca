"""Time of commit-back's secret scan on hostile content (issue 7, item 4).

Run: python benchmarks/bench_secretscan.py [--runs N] [--no-before]
Prints, for files of 5 MB (MAX_SCAN_BYTES, the most the scan reads of a file) and lines
of 40,000 characters, the median CPU and wall time of `secret_file_reason` on a real
file (read, decode, every pattern). Target: well under a second for 5 MB of any content.

Before: the assignment pattern of bassi 0.1.0, kept here as the reference, on one line of
base64url of 2,500 / 5,000 / 10,000 characters: it is quadratic, so the figures grow
fourfold per doubling; the 40,000-character and 5 MB figures are extrapolated from them.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import os
import random
import re
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bassi_ci.ci.secretscan import MAX_SCAN_BYTES, secret_file_reason  # noqa: E402

OLD_ASSIGNMENT = re.compile(
    r"""(?i)[\w.-]*(?:api[_-]?key|secret|token|passwd|password|private[_-]?key|access[_-]?key)[\w.-]*["']?"""
    r"""\s*[:=]\s*["']([^"'\s]{16,})["']"""
)
SIZE = MAX_SCAN_BYTES
LINE = 40_000


def b64url(size: int, rng: random.Random) -> bytes:
    return base64.urlsafe_b64encode(rng.randbytes(size))[:size]


def repeat(unit: str, size: int) -> bytes:
    return (unit * (size // len(unit) + 1)).encode()[:size]


def low_entropy_values() -> Iterator[str]:
    """Distinct 16-character values of 12 distinct characters and entropy 3.27 bits (< 3.5):
    each assignment of one matches and its value must be counted, none is refused."""
    for chosen in itertools.combinations(string.ascii_letters + string.digits, 12):
        yield "".join(chosen) + chosen[0] * 4


def contents(size: int, rng: random.Random) -> dict[str, bytes]:
    values = low_entropy_values()
    assignments = "".join(f"token='{next(values)}'" for _ in range(size // 24 + 1))  # the shortest match
    return {
        "base64url, one line": b64url(size, rng),
        "hex, one line": rng.randbytes(size // 2 + 1).hex().encode()[:size],
        "random bytes": rng.randbytes(size),
        "newlines": b"\n" * size,
        "'token' repeated, one name": repeat("token", size),
        "'token = x…x ' repeated (no closing quote)": repeat("token = '" + "x" * 20 + " ", size),
        "token='<16 chars, low entropy>' x 208,000": assignments.encode()[:size],
        "a name of 5 MB, then = '<value>'": b"t" * (size - 40) + b" = 'Zx8vQ2mL9pR4tY7wK3nB6cF1'",
        "token, 5 MB of spaces, = '<value>'": b"token" + b" " * (size - 40) + b"= 'Zx8vQ2mL9pR4tY7wK3nB6cF1'",
        "'-----BEGIN A A A …'": b"-----BEGIN " + repeat("A ", size - 11),
        "quotes": b"'" * size,
        "'=' and ':' ": repeat("=:", size),
    }


def median_times(action: Callable[[], object], runs: int) -> tuple[float, float]:
    cpu, wall = [], []
    for _ in range(runs):
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        action()
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started_wall)
    return statistics.median(cpu), statistics.median(wall)


def scan_files(label: str, size: int, runs: int) -> None:
    rng = random.Random(7)
    print(f"secret_file_reason on files of {size:,} bytes, median of {runs} runs:")
    with tempfile.TemporaryDirectory(prefix="bassi-bench-scan-") as folder:
        root = Path(folder)
        worst = 0.0
        for name, data in contents(size, rng).items():
            (root / "f").write_bytes(data)
            reason = secret_file_reason(root, "f", ())
            cpu, wall = median_times(lambda: secret_file_reason(root, "f", ()), runs)
            worst = max(worst, cpu)
            found = "refused" if reason else "passes"
            print(f"  {name:<46} cpu {cpu * 1000:7.1f} ms  wall {wall * 1000:7.1f} ms  ({found})")
        print(f"  worst {label}: {worst * 1000:.0f} ms cpu")


def before(runs: int) -> None:
    rng = random.Random(7)
    print("before: the 0.1.0 assignment pattern on one line of base64url:")
    figures = []
    for size in (2_500, 5_000, 10_000):
        text = b64url(size, rng).decode()
        cpu, _ = median_times(lambda text=text: list(OLD_ASSIGNMENT.finditer(text)), runs)
        figures.append((size, cpu))
        print(f"  {size:>6,} characters: cpu {cpu:7.2f} s")
    size, cpu = figures[-1]
    print(f"  extrapolated (quadratic): {LINE:,} characters ~{cpu * (LINE / size) ** 2:,.0f} s, ", end="")
    print(f"{SIZE:,} characters ~{cpu * (SIZE / size) ** 2 / 3600:,.0f} h")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-before", action="store_true", help="skip the slow figures of the old pattern")
    args = parser.parse_args()
    os.environ.pop("PYTHONHASHSEED", None)
    scan_files("5 MB", SIZE, args.runs)
    scan_files("40,000 characters", LINE, args.runs)
    if not args.no_before:
        before(1)


if __name__ == "__main__":
    main()
