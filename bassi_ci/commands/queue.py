"""`bassi queue`: add work for workers (`bassi execute --next`) and agents (`bassi mcp serve`),
list it, look at one item, cancel or retry it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from bassi_ci import output
from bassi_ci.commands.queue_url import queue_url_option, store_opener
from bassi_ci.queue.model import DEFAULT_MAX_ATTEMPTS, MAX_ITEM_ID, STATUSES, NewItem, QueueItem
from bassi_ci.queue.store import QueueStore
from bassi_ci.queue.worker import task_reference
from bassi_ci.runs.redact import Redactor
from bassi_ci.tasks.templating import parse_vars

# A table of 100,000 rows takes rich ~10 s to lay out, and no one reads it: scripts use --json.
TABLE_LIMIT = 1_000


@click.group(name="queue")
def queue() -> None:
    """Queue work for `bassi execute --next` and `bassi mcp serve`.

    \b
    Items move pending -> running -> done | failed | cancelled. A worker that dies gives its item
    back when its lease expires (attempts are counted, up to --max-attempts).

    \b
    The queue is this machine's (BASSI_HOME/state.db) unless --queue-url or BASSI_QUEUE_URL
    names a PostgreSQL database that workers on many machines share.
    """


@contextmanager
def _store(queue_url: str | None) -> Iterator[QueueStore]:
    store = store_opener(queue_url)()
    try:
        yield store
    finally:
        store.close()


@queue.command(name="add")
@click.argument("name")
@click.option("--prompt", help="What the agent should do (with --task: replaces the task's prompt).")
@click.option("--task", "task_spec", help="Run this task (id, name or task file) with the item's prompt and vars.")
@click.option("--priority", type=int, default=0, show_default=True, help="Higher runs first; equal: oldest first.")
@click.option("--var", "vars_", multiple=True, metavar="KEY=VALUE", help="Template variable (repeatable).")
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_ATTEMPTS,
    show_default=True,
    help="Claims at most (a worker that dies uses one up).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the new item as JSON.")
@queue_url_option
def add(
    name: str,
    prompt: str | None,
    task_spec: str | None,
    priority: int,
    vars_: tuple[str, ...],
    max_attempts: int,
    as_json: bool,
    queue_url: str | None,
) -> None:
    """Add an item to the queue."""
    new = NewItem(
        name=name,
        prompt=prompt,
        task=task_reference(task_spec, Path.cwd()) if task_spec is not None else None,
        priority=priority,
        vars=parse_vars(vars_, check_names=True),
        max_attempts=max_attempts,
    )
    with _store(queue_url) as store:
        item = store.add(new)
    redactor = Redactor.from_environ()
    if as_json:
        output.print_json(redactor.data(item.as_dict()))
    else:
        output.echo(redactor.text(f"queued item {item.id} {item.name!r} (priority {item.priority})"))


@queue.command(name="list")
@click.option("--status", type=click.Choice(STATUSES), help="Only items in this state.")
@click.option(
    "-n",
    "limit",
    type=click.IntRange(min=1, max=MAX_ITEM_ID, clamp=True),
    help=f"At most N items (table: {TABLE_LIMIT:,} unless given).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print every item as JSON for scripts (without result documents)."
)
@queue_url_option
def list_items(status: str | None, limit: int | None, as_json: bool, queue_url: str | None) -> None:
    """List queue items, oldest first."""
    with _store(queue_url) as store:
        items = store.list(status, limit if limit or as_json else TABLE_LIMIT)
        total = store.count(status) if limit is None and len(items) == TABLE_LIMIT else len(items)
    redactor = Redactor.from_environ()  # a prompt or an error may quote a secret of this environment
    if as_json:
        output.write(sys.stdout, _json_lines_array(redactor.data(item.as_dict(with_result=False)) for item in items))
        return
    if not items:
        output.echo("The queue is empty." if status is None else f"No {status} items.")
        return
    headers = ["ID", "STATUS", "PRIORITY", "ATTEMPTS", "NAME", "TASK", "CREATED"]
    output.print_table(headers, [[output.visible(redactor.text(cell)) for cell in _row(item)] for item in items])
    if total > len(items):
        output.note(f"showing the oldest {len(items):,} of {total:,} items: use --status, -n N or --json to see more")


def _json_lines_array(items: Iterable[dict[str, Any]]) -> str:
    """A JSON array with one item per line: json's C encoder (no indent) is ~10x faster than the
    indenting one, which took 6 s for 100,000 items."""
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    return "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"


def _row(item: QueueItem) -> list[str]:
    return [
        str(item.id),
        item.status,
        str(item.priority),
        f"{item.attempts}/{item.max_attempts}",
        item.name,
        item.task or "-",
        item.created_at,
    ]


@queue.command(name="show")
@click.argument("item_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the item with its result document as JSON.")
@queue_url_option
def show(item_id: int, as_json: bool, queue_url: str | None) -> None:
    """Show one queue item, with its result."""
    with _store(queue_url) as store:
        item = store.get(item_id)
    shown = Redactor.from_environ().data(item.as_dict())
    if as_json:
        output.print_json(shown)
        return
    result = shown.pop("result")
    output.print_fields([(key, output.visible(_text(value))) for key, value in shown.items()])
    if result is not None:
        output.print_json(result)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{key}={text}" for key, text in value.items()) or "-"
    return str(value)


_CHANGED_JSON_HELP = "Print the changed item as JSON (as 'queue show --json' does)."


@queue.command(name="cancel")
@click.argument("item_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help=_CHANGED_JSON_HELP)
@queue_url_option
def cancel(item_id: int, as_json: bool, queue_url: str | None) -> None:
    """Cancel a pending or running item (a running item's result is then not stored)."""
    with _store(queue_url) as store:
        item = store.cancel(item_id)
    _print_changed(item, as_json, f"cancelled item {item.id} {item.name!r}")


@queue.command(name="retry")
@click.argument("item_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help=_CHANGED_JSON_HELP)
@queue_url_option
def retry(item_id: int, as_json: bool, queue_url: str | None) -> None:
    """Put a failed or cancelled item back in the queue, with its attempts reset."""
    with _store(queue_url) as store:
        item = store.retry(item_id)
    _print_changed(item, as_json, f"item {item.id} {item.name!r} is pending again")


def _print_changed(item: QueueItem, as_json: bool, message: str) -> None:
    """The item as `queue show --json` prints it (scripts need its new state), else one line."""
    redactor = Redactor.from_environ()  # a name, prompt or error may quote a secret of this environment
    if as_json:
        output.print_json(redactor.data(item.as_dict()))
    else:
        output.echo(redactor.text(message))
