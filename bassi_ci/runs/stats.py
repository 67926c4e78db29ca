"""Per-task run counts, as `schedule list` and `show` display them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskStats:
    runs: int
    successes: int
    failures: int
    last_started_at: str | None  # ISO 8601 with offset
    last_status: str | None
    last_duration_ms: int | None

    @property
    def success_rate(self) -> float | None:
        finished = self.successes + self.failures
        return round(self.successes / finished, 3) if finished else None
