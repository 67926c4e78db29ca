"""benchmarks/bench_cli.py times a "cold" listing by deleting the validation cache first; if the
cache moves again, the benchmark must notice instead of quietly timing a warm listing."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from bassi_ci.home import folder_state_path, tasks_dir
from bassi_ci.tasks import schema
from bassi_ci.tasks.schema import compiled_schema_path
from bassi_ci.tasks.store import TaskStore


def bench_cli() -> ModuleType:
    path = Path(__file__).parents[1] / "benchmarks" / "bench_cli.py"
    spec = importlib.util.spec_from_file_location("bench_cli", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_drop_cache_removes_the_cache_a_listing_writes(isolated_home: Path) -> None:
    bench = bench_cli()
    bench.make_tasks(isolated_home, 3)
    assert [entry.error for entry in TaskStore().entries()] == [None, None, None]
    assert bench.cache_files(isolated_home) == [folder_state_path(tasks_dir(), "cache", ".json")]
    bench.drop_cache(isolated_home)
    assert bench.cache_files(isolated_home) == []


def test_drop_all_caches_removes_the_compiled_schema_too(isolated_home: Path) -> None:
    bench = bench_cli()
    bench.make_tasks(isolated_home, 2)
    schema._compiled_check.cache_clear()  # compiled once per process: make this one write its file
    TaskStore().entries()
    assert bench.compiled_schema_files(isolated_home) == [compiled_schema_path()]
    bench.drop_all_caches(isolated_home)
    assert bench.compiled_schema_files(isolated_home) == bench.cache_files(isolated_home) == []
