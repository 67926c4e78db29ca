"""What the many-workers tests share, whatever the backend: a queue named by a SQLite path or a
`postgresql://` URL, filled and read through the storage layer; worker processes started and
waited for; drain summaries checked against their published schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from bassi_ci.queue.location import POSTGRES_SCHEMES
from bassi_ci.queue.model import NewItem
from bassi_ci.queue.sqlite import SqliteQueueStore
from bassi_ci.queue.store import QueueStore, open_store
from tests.cli import ROOT, bassi_process
from tests.fakeapi import FakeMessagesAPI

DRAIN_SCHEMA = json.loads((ROOT / "bassi_ci" / "schemas" / "drain.schema.json").read_text(encoding="utf-8"))
Ended = tuple[int, str, str]  # a worker process's exit code, stdout and stderr


def open_queue(queue: str | Path) -> QueueStore:
    """The store `queue` names: a URL is PostgreSQL, anything else a SQLite file (never
    $BASSI_QUEUE_URL's queue by accident: the argument alone decides)."""
    if str(queue).partition("://")[0] in POSTGRES_SCHEMES:
        return open_store(url=str(queue))
    return SqliteQueueStore(Path(queue))


def fill(queue: str | Path, count: int, prompt: str = "item {n}") -> list[int]:
    store = open_queue(queue)
    try:
        return [store.add(NewItem(f"item {n}", prompt.format(n=n))).id for n in range(count)]
    finally:
        store.close()


def items(queue: str | Path) -> list[dict[str, Any]]:
    store = open_queue(queue)
    try:
        return [item.as_dict() for item in store.list()]
    finally:
        store.close()


def item(queue: str | Path, item_id: int) -> dict[str, Any]:
    store = open_queue(queue)
    try:
        return store.get(item_id).as_dict()
    finally:
        store.close()


def wait_for_status(queue: str | Path, item_id: int, status: str, timeout: float) -> dict[str, Any]:
    """The item once it is `status` (reading settles expired leases, on both backends)."""
    deadline = time.monotonic() + timeout
    found = item(queue, item_id)
    while found["status"] != status:
        if time.monotonic() > deadline:
            raise AssertionError(f"item {item_id} did not become {status} within {timeout} s: {found}")
        time.sleep(0.1)
        found = item(queue, item_id)
    return found


def run_claimers(queue: str | Path, count: int, folder: Path) -> list[list[int]]:
    """The ids each of `count` storage-layer worker processes (tests/queue/claimer.py) took, when
    all of them started at once and ran until nothing was pending."""
    outs = [folder / f"claimed-{n}.txt" for n in range(count)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.queue.claimer", str(queue)]
    processes = [subprocess.Popen([*command, str(out)], env=env) for out in outs]
    assert [process.wait(timeout=120) for process in processes] == [0] * count
    return [[int(line) for line in out.read_text().split()] for out in outs]


def start_workers(count: int, *args: str, cwd: Path) -> list[subprocess.Popen[str]]:
    return [bassi_process(*args, cwd=cwd) for _ in range(count)]


def wait_all(processes: list[subprocess.Popen[str]], timeout: float) -> list[Ended]:
    ended = []
    for process in processes:
        out, err = process.communicate(timeout=timeout)
        ended.append((process.returncode, out, err))
    return ended


def workers_report(ended: list[Ended]) -> str:
    """Every worker's exit code, whole stdout (its summary) and whole stderr: what a failure shows."""
    return "\n".join(
        f"--- worker {n}: exit {code}\n--- stdout:\n{out}\n--- stderr:\n{err}"
        for n, (code, out, err) in enumerate(ended)
    )


def check_drain(stdout: str) -> dict[str, Any]:
    """The one drain summary a worker printed, valid against drain.schema.json."""
    document: dict[str, Any] = json.loads(stdout)
    Draft202012Validator(DRAIN_SCHEMA, format_checker=FormatChecker()).validate(document)
    return document


def sent_prompts(api: FakeMessagesAPI) -> Counter[str]:
    """How often each prompt reached the Messages API (as the first message of a conversation)."""
    return Counter(request.body["messages"][0]["content"][0]["text"] for request in api.requests)


def most_claims(claims: list[int]) -> int:
    """How often the most-claimed id was claimed (1: nothing twice)."""
    return Counter(claims).most_common(1)[0][1] if claims else 0
