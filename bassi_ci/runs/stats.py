"""Per-task run counts, as `schedule list` and `show` display them."""

from __future__ import annotations

from collections.abc import Mapping
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


StatsKey = tuple[str, str]  # (task id, task key or ""): runs are kept per task file


def stats_of(stats: Mapping[StatsKey, TaskStats], task_id: str, task_key: str | None) -> TaskStats | None:
    """The stats of one task file; runs recorded before runs had keys count for its id."""
    return stats.get((task_id, task_key or "")) or stats.get((task_id, ""))
