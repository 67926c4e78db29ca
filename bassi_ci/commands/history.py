"""`bassi history`: past runs, newest first."""

from __future__ import annotations

import click

from bassi_ci import output
from bassi_ci.runs.views import history_rows, load_runs


def complete_task(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """TAB on TASK: the ids of stored tasks and of tasks with runs."""
    # Lazy: the task views load the store and the schedule engine, which `bassi history` never needs.
    from bassi_ci.tasks.views import complete_task_with_runs

    return complete_task_with_runs(ctx, param, incomplete)


@click.command(name="history")
@click.argument("task", required=False, shell_complete=complete_task)
@click.option("-n", "limit", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def history(task: str | None, limit: int, as_json: bool) -> None:
    """Show past runs of TASK (or of every task), newest first."""
    records = load_runs(task, limit)
    if as_json:
        output.print_json([record.as_dict() for record in records])
        return
    if not records:
        output.echo(f"No runs of '{task}' yet." if task else "No runs yet. Start one with: bassi execute TASK")
        return
    output.print_table(["STARTED", "TASK", "STATUS", "DURATION", "TURNS", "COST", "RESULT"], history_rows(records))
