"""`bassi history`: past runs, newest first."""

from __future__ import annotations

from pathlib import Path

import click

from bassi_ci import output
from bassi_ci.commands.completion import complete_task_with_runs
from bassi_ci.errors import BassiError
from bassi_ci.tasks.lookup import find_task, history_key
from bassi_ci.views.runs import history_rows, load_runs


@click.command(name="history")
@click.argument("task", required=False, shell_complete=complete_task_with_runs)
@click.option("-n", "limit", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def history(task: str | None, limit: int, as_json: bool) -> None:
    """Show past runs of TASK (or of every task), newest first."""
    task_id, task_key = _task_key(task) if task else (None, None)
    records = load_runs(task_id, limit, task_key)
    if as_json:
        output.print_json([record.as_dict() for record in records])
        return
    if not records:
        output.echo(f"No runs of '{task}' yet." if task else "No runs yet. Start one with: bassi execute TASK")
        return
    output.print_table(["STARTED", "TASK", "STATUS", "DURATION", "TURNS", "COST", "RESULT"], history_rows(records))


def _task_key(spec: str) -> tuple[str, str | None]:
    """(id, history key) of the task `spec` names; a task that is gone (or ambiguous) is shown
    by id alone, because runs outlive their task."""
    try:
        task = find_task(spec, Path.cwd())
    except BassiError:
        return spec, None
    return task.id, history_key(task)
