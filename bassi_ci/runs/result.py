"""The JSON result of a run: one builder, one schema (bassi_ci/schemas/result.schema.json)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from bassi_ci.errors import ExitCode

SCHEMA_VERSION = 1
USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


@dataclass(frozen=True)
class ErrorInfo:
    type: str
    message: str
    retryable: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "retryable": self.retryable}


@dataclass(frozen=True)
class RunReport:
    """Everything the result, the history row and the summaries are made from."""

    run_id: str
    task_id: str | None
    exit_code: ExitCode
    started_at: str
    finished_at: str
    duration_ms: int
    duration_api_ms: int = 0
    model: str | None = None
    num_turns: int = 0
    usage: Mapping[str, int] = field(default_factory=dict)
    total_cost_usd: float = 0.0
    final_text: str = ""
    # The validated answer of a run with an output schema (agent/structured.py); None without one.
    structured_output: Mapping[str, Any] | None = None
    files_changed: Sequence[str] = ()
    permission_denials: Sequence[Mapping[str, Any]] = ()
    error: ErrorInfo | None = None
    log_path: str | None = None
    # Remarks for the people reading the summaries, not part of the JSON result (its fields are
    # the contract): e.g. that nothing changed under the task's commit paths.
    notes: Sequence[str] = ()
    # `execute --next` found the queue empty: nothing ran, exit 0, status `idle`.
    idle: bool = False

    @property
    def status(self) -> str:
        return "idle" if self.idle else self.exit_code.status

    @property
    def total_tokens(self) -> int:
        return sum(int(self.usage.get(key, 0)) for key in USAGE_KEYS)


def build_result(report: RunReport) -> dict[str, Any]:
    """The public result document (field order is part of the contract)."""
    error = report.error
    if report.exit_code is not ExitCode.SUCCESS and error is None:
        error = ErrorInfo(report.status, f"the run ended with status {report.status}")
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": report.run_id,
        "task_id": report.task_id,
        "status": report.status,
        "exit_code": int(report.exit_code),
        "is_error": report.exit_code is not ExitCode.SUCCESS,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "duration_ms": max(report.duration_ms, 0),
        "duration_api_ms": max(report.duration_api_ms, 0),
        "model": report.model,
        "num_turns": report.num_turns,
        "usage": {key: int(report.usage.get(key, 0)) for key in USAGE_KEYS},
        "total_cost_usd": round(max(report.total_cost_usd, 0.0), 6),
        "result": report.final_text,
        "structured_output": None if report.structured_output is None else dict(report.structured_output),
        "files_changed": list(report.files_changed),
        "permission_denials": [dict(d) for d in report.permission_denials],
        "error": None if report.exit_code is ExitCode.SUCCESS or error is None else error.as_dict(),
        "log_path": report.log_path,
    }


@functools.cache
def result_schema() -> dict[str, Any]:
    source = resources.files("bassi_ci.schemas").joinpath("result.schema.json")
    schema: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return schema
