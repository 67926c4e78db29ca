"""`bassi schedule …`: manage tasks and preview schedules."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bassi_ci import clock, output
from bassi_ci.commands.completion import (
    complete_stored_task,
    complete_task_with_runs,
)
from bassi_ci.errors import BassiError, StoreError, TaskFileError, TaskNotFound, UsageError
from bassi_ci.home import state_db_path
from bassi_ci.runs.stats import StatsKey, TaskStats, stats_of
from bassi_ci.schedules import describe, next_runs, normalize_schedule, parse_schedule, validate_timezone
from bassi_ci.scheduling.base import SchedulerError
from bassi_ci.tasks.loader import TASK_SUFFIXES
from bassi_ci.tasks.lookup import REPO_TASKS_DIR, git_root, history_key
from bassi_ci.tasks.manage import (
    TaskOptions,
    default_workdir,
    describe_schedule,
    edited_task,
    new_task,
    stored_workdir,
    with_enabled,
)
from bassi_ci.tasks.model import ALL_TOOLS, Task, parse_tools
from bassi_ci.tasks.store import TaskStore, looks_like_a_path, task_file_text
from bassi_ci.tasks.templating import parse_vars as parse_vars  # also used by `bassi ci commit`
from bassi_ci.views.tasks import LIST_HEADERS, in_zone, task_rows, task_stats, task_summary, unknown_task_message

BACKEND_CHOICES = ("auto", "systemd", "launchd", "cron")

ROW_STYLES = {"paused": "dim", "error": "red"}


@click.group()
def schedule() -> None:
    """Manage scheduled tasks and preview schedules."""


def folder_options(func: Any) -> Any:
    """--tasks-dir / --repo: which folder of tasks a command works on (default: BASSI_HOME/tasks)."""
    func = click.option(
        "--repo",
        is_flag=True,
        help="Use this git repository's tasks (.bassi/tasks/), the ones 'bassi ci generate' reads.",
    )(func)
    return click.option(
        "--tasks-dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="Use the tasks in this folder instead of BASSI_HOME/tasks.",
    )(func)


def task_store(tasks_dir: Path | None, repo: bool, name: str | None = None) -> TaskStore:
    """The folder of tasks the user chose with --tasks-dir or --repo; without either, the folder
    of the task file NAME when it is a path to one, else the personal store."""
    if tasks_dir is not None and repo:
        raise UsageError("give --tasks-dir or --repo, not both")
    if name is not None and not repo and tasks_dir is None and looks_like_a_path(name):
        path = Path(name).expanduser()
        if not path.is_file():
            raise TaskNotFound(f"task file {name} does not exist")
        if path.suffix.lower() not in TASK_SUFFIXES:
            raise UsageError(f"{name}: not a task file (task files end in {', '.join(TASK_SUFFIXES)})")
        return TaskStore(path.parent.absolute(), flag=f"--tasks-dir {path.parent}")
    if repo:
        root = git_root(Path.cwd())
        if root is None:
            raise UsageError(
                "--repo: the current folder is not inside a git repository; cd into one or use --tasks-dir"
            )
        return TaskStore(root / REPO_TASKS_DIR, flag="--repo")
    if tasks_dir is not None:
        return TaskStore(tasks_dir.expanduser().absolute(), flag=f"--tasks-dir {tasks_dir}")
    return TaskStore()


def install_options(func: Any) -> Any:
    """--backend, --dry-run and --json: the options of every command that may install."""
    decorators = [
        click.option(
            "--backend",
            type=click.Choice(BACKEND_CHOICES),
            default="auto",
            show_default=True,
            help="OS scheduler: auto picks systemd where user timers work, launchd on macOS, else cron"
            " (an installed task keeps its own).",
        ),
        click.option("--dry-run", is_flag=True, help="Print what would be written and run; change nothing."),
        click.option("--json", "as_json", is_flag=True, help="With --dry-run: print it as JSON."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


STORE_KEY_OPTION = click.option(
    "--store-key",
    is_flag=True,
    help="Also copy the API key's value into BASSI_HOME/env (a risk: anyone who can read the file"
    " has the key); by default only its name is written and you add the key yourself.",
)


def _check_json(as_json: bool, dry_run: bool) -> None:
    if as_json and not dry_run:
        raise UsageError("--json goes with --dry-run (the JSON is the plan); add --dry-run or leave --json out")


def task_options(func: Any) -> Any:
    """The options that `add` and `edit` share."""
    decorators = [
        click.option("--tz", "timezone", help="IANA time zone, e.g. Europe/Berlin (default: this machine's)."),
        click.option("--model", help="Claude model to use."),
        click.option("--timeout", help="Wall-clock limit: seconds or e.g. 30m, 2h."),
        click.option("--max-turns", type=click.IntRange(min=1), help="API round trips at most."),
        click.option(
            "--max-budget",
            "max_budget_usd",
            type=click.FloatRange(min=0, min_open=True),
            help="Spend at most this many US dollars.",
        ),
        click.option("--tools", help=f"Comma-separated allow-list from: {', '.join(ALL_TOOLS)}."),
        click.option("--workdir", help="Workspace folder of the run."),
        click.option("--retries", type=click.IntRange(0, 10), help="Extra attempts on API failures."),
        click.option("--var", "vars_", multiple=True, metavar="KEY=VALUE", help="Template variable (repeatable)."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _options(when: str | None, prompt: str | None, values: dict[str, Any], store: TaskStore) -> TaskOptions:
    tools = values.pop("tools")
    pairs = values.pop("vars_")
    if values.get("workdir"):
        values["workdir"] = stored_workdir(Path(values["workdir"]), store.root)
    return TaskOptions(
        when=when,
        prompt=prompt,
        tools=parse_tools(tools, check=False),
        vars=parse_vars(pairs) if pairs else None,
        **values,
    )


@schedule.command(name="add")
@click.argument("name")
@click.option("--when", required=True, help="Schedule, e.g. 'monday 09:00', 'every 30m' or a cron expression.")
@click.option("--prompt", required=True, help="What the agent should do.")
@task_options
@click.option("--id", "task_id", help="Task id (default: made from NAME), e.g. weekly-report.")
@click.option("--no-install", is_flag=True, help="Only store the task; do not touch the OS scheduler.")
@install_options
@STORE_KEY_OPTION
@folder_options
def schedule_add(
    name: str,
    when: str,
    prompt: str,
    task_id: str | None,
    no_install: bool,
    backend: str,
    dry_run: bool,
    as_json: bool,
    store_key: bool,
    tasks_dir: Path | None,
    repo: bool,
    **values: Any,
) -> None:
    """Add a task that runs PROMPT on the schedule WHEN, and install it into the OS scheduler.

    A personal task (the default) works in the current folder, or --workdir. With --repo
    the task goes into this repository's .bassi/tasks/ and works in the repository root
    (--workdir relative to it), so 'bassi ci generate' turns it into a pipeline.

    Adding is all or nothing: when the OS scheduler refuses the entry, the task is not stored.
    """
    from bassi_ci.commands import schedule_install as ui  # lazy: only commands that install need it

    _check_json(as_json, dry_run)
    store = task_store(tasks_dir, repo)
    options = _options(when, prompt, values, store)
    if options.workdir is None:
        options = dataclasses.replace(options, workdir=default_workdir(store.root, Path.cwd()))
    task = new_task(name, options, clock.now(), clock.local_zone_name(), task_id=task_id)
    if dry_run:  # a real add checks this under the store's lock
        store.refuse_taken(task.id)
    path = store.path_for(task.id)
    task = dataclasses.replace(task, source=path)
    change = None if no_install else ui.LIFECYCLE.plan_install(task, backend, Path.cwd())
    if dry_run:
        ui.print_dry_run(change, (path, task_file_text(task, path)), as_json)
        return
    store.add(task)
    env_file = _install_added(store, task, change, store_key) if change is not None else None
    _echo_schedule(f"Added task '{task.id}'", task)
    output.echo(f"Saved to {path}")
    if change is not None:
        ui.print_env_file(env_file, store_key)
        ui.print_change(change)


def _install_added(store: TaskStore, task: Task, change: Any, store_key: bool) -> Path | None:
    """Write the env file and install; on failure take the task file (and a new env file) away again."""
    from bassi_ci.commands import schedule_install as ui

    env_file = None
    try:
        env_file = ui.ensure_env_file(store_key)
        ui.LIFECYCLE.apply(change)
        return env_file
    except BassiError as exc:
        store.delete(task.id)
        if env_file is not None:
            env_file.unlink(missing_ok=True)
        if isinstance(exc, SchedulerError):
            raise SchedulerError(
                f"{exc}; the task was not added (fix that and run the command again, or add --no-install)"
            ) from None
        raise


def _echo_schedule(heading: str, task: Task) -> None:
    """'<heading>: <canonical schedule> — <in words> (<zone>)' and the next run, as `add` and `edit` say it."""
    if task.schedule is None:
        output.echo(f"{heading}: on demand (no schedule; run it with 'bassi execute {task.id}')")
        return
    output.echo(f"{heading}: {task.schedule} — {describe_schedule(task)} ({task.timezone})")
    if not task.enabled:
        output.echo(f"Next run: none while paused (resume with 'bassi schedule resume {task.id}')")
        return
    output.echo(f"Next run: {task_summary(task, None, clock.now())['next_run'] or 'none'}")


@schedule.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@folder_options
def schedule_list(as_json: bool, tasks_dir: Path | None, repo: bool) -> None:
    """List all tasks with their next and last runs."""
    store = task_store(tasks_dir, repo)
    entries = store.entries()
    stats = _stats()
    now = clock.now()
    missed, stale = _installed_state([e.task for e in entries if e.task], now)
    if as_json:
        output.print_json(
            [
                {
                    **task_summary(e.task, task_stats(stats, e.task), now),
                    "missed_runs": missed.get(e.task.id),  # null: not installed, so nothing is due
                    "entry_out_of_date": stale.get(e.task.id),  # null: not installed, or cannot tell
                }
                if e.task
                else {"id": e.task_id, "status": "error", "error": e.error}
                for e in entries
            ]
        )
        return
    if not entries:
        output.echo("No tasks yet. Add one with: bassi schedule add NAME --when 'daily 09:00' --prompt '...'")
        return
    rows = task_rows(entries, stats, now, clock.local_zone_name(), missed, {k for k, v in stale.items() if v})
    styles = [ROW_STYLES.get(row[-1].split(":")[0]) for row in rows]
    output.print_table(LIST_HEADERS, rows, styles)
    if any(stale.values()):
        folder = f" {store.flag}" if store.flag else ""
        output.note(
            "out of date: the task file changed since it was installed and the OS scheduler still runs"
            f" the old entry; update with 'bassi schedule install --all{folder}' (details: 'bassi schedule debug NAME')"
        )


def _installed_state(tasks: list[Task], now: datetime) -> tuple[dict[str, int], dict[str, bool | None]]:
    """Per installed task: its missed runs, and whether its OS entry is out of date."""
    # Lazy: reads the installation registry, and the history only when tasks are installed.
    from bassi_ci.scheduling.drift import out_of_date
    from bassi_ci.scheduling.installed import missed_counts

    try:
        return missed_counts(tasks, now), out_of_date(tasks)
    except StoreError as exc:  # a damaged registry must not hide the tasks themselves
        output.note(f"missed runs not checked: {exc}")
        return {}, {}


@schedule.command(name="show")
@click.argument("name", shell_complete=complete_stored_task)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--count", default=5, type=click.IntRange(1, 100), help="How many next runs to show.")
@folder_options
def schedule_show(name: str, as_json: bool, count: int, tasks_dir: Path | None, repo: bool) -> None:
    """Show one task in full, with its next runs (NAME: its id or its name)."""
    task = task_store(tasks_dir, repo, name).get(name)
    summary = task_summary(task, stats_of(_stats(), task.id, history_key(task)), clock.now(), next_count=count)
    if as_json:
        output.print_json(summary)
        return
    if summary["last_run"] and task.timezone:  # the history keeps UTC; show it in the zone next runs are in
        summary["last_run"] = in_zone(summary["last_run"], task.timezone)
    pairs = [(key, _display(value)) for key, value in summary.items() if key != "next_runs"]
    output.print_fields(pairs)
    output.echo("next runs:")
    for when in summary["next_runs"] or ["(none)"]:
        output.echo(f"  {when}")


@schedule.command(name="pause")
@click.argument("name", shell_complete=complete_stored_task)
@folder_options
def schedule_pause(name: str, tasks_dir: Path | None, repo: bool) -> None:
    """Stop a task from running on its schedule (it stays stored; its OS entry is disabled)."""
    was_enabled, task = _set_enabled(task_store(tasks_dir, repo, name), name, False)
    output.echo(f"Paused task '{task.id}'." if was_enabled else f"Task '{task.id}' is already paused.")


@schedule.command(name="resume")
@click.argument("name", shell_complete=complete_stored_task)
@folder_options
def schedule_resume(name: str, tasks_dir: Path | None, repo: bool) -> None:
    """Let a paused task run on its schedule again (its OS entry too)."""
    was_enabled, task = _set_enabled(task_store(tasks_dir, repo, name), name, True)
    next_run = task_summary(task, None, clock.now())["next_run"]
    said = f"Task '{task.id}' is already enabled." if was_enabled else f"Resumed task '{task.id}'."
    output.echo(f"{said} Next run: {next_run or 'none'}")


def _set_enabled(store: TaskStore, name: str, enabled: bool) -> tuple[bool, Task]:
    """(whether the task was enabled before, the task now); an unchanged task is not written again.

    An installed task's OS entry follows: the file is written first and put back when the
    OS scheduler refuses, so the two never disagree.
    """
    from bassi_ci.commands import schedule_install as ui

    before: list[bool] = []

    def change_state(task: Task) -> Task:
        before.append(task.enabled)
        return with_enabled(task, enabled)

    task = store.get(name)
    if task.enabled == enabled:
        return enabled, task
    change = ui.LIFECYCLE.plan_enable(with_enabled(task, enabled), enabled, Path.cwd())
    task = store.update(name, change_state)  # under the store's lock: `before` is what this replaced
    if change is not None and before[0] != enabled:
        try:
            ui.LIFECYCLE.apply(change, record=enabled)  # resuming starts a new watch for missed runs
        except SchedulerError:
            store.update(name, lambda task: with_enabled(task, not enabled))
            raise
        ui.print_change(change)
    return before[0], task


@schedule.command(name="delete")
@click.argument("name", shell_complete=complete_stored_task)
@folder_options
def schedule_delete(name: str, tasks_dir: Path | None, repo: bool) -> None:
    """Delete a task and its OS scheduler entry (its run history is kept)."""
    from bassi_ci.commands import schedule_install as ui

    store = task_store(tasks_dir, repo, name)
    change = _uninstall_plan_for_delete(store, name)
    if change is not None:
        try:
            ui.LIFECYCLE.apply(change)
        except SchedulerError as exc:
            raise SchedulerError(f"{exc}; the task was kept (fix that and delete it again)") from None
        ui.print_change(change)
    deleted = store.delete(name)
    output.echo(f"Deleted task '{deleted.id if deleted else name}'.")


def _uninstall_plan_for_delete(store: TaskStore, name: str) -> Any:
    """The uninstall of the task's own OS entry; None when it has none (or the file does not load)."""
    from bassi_ci.commands import schedule_install as ui

    try:
        task = store.get(name)
    except TaskFileError:
        # A broken file: `delete` must still be able to clean it up, and its OS entry with it
        # (the registry knows the file), or the entry would go on running a task that is gone.
        broken = next((entry.path for entry in store.entries() if entry.error and entry.path.stem == name), None)
        return ui.LIFECYCLE.plan_uninstall_file(broken) if broken is not None else None
    if not ui.LIFECYCLE.installed_here(task):
        return None
    return ui.LIFECYCLE.plan_uninstall(task.id, task)


@schedule.command(name="edit")
@click.argument("name", shell_complete=complete_stored_task)
@click.option("--when", help="New schedule.")
@click.option("--prompt", help="New prompt.")
@task_options
@install_options
@folder_options
def schedule_edit(
    name: str,
    when: str | None,
    prompt: str | None,
    backend: str,
    dry_run: bool,
    as_json: bool,
    tasks_dir: Path | None,
    repo: bool,
    **values: Any,
) -> None:
    """Change fields of a task; the whole task is validated again.

    An installed task is installed again when its schedule, zone, workdir or state changed
    (or --backend names another scheduler).
    """
    from bassi_ci.commands import schedule_install as ui

    _check_json(as_json, dry_run)
    store = task_store(tasks_dir, repo, name)
    options = _options(when, prompt, values, store)
    if options == TaskOptions():
        raise UsageError("nothing to change: give at least one option, e.g. --when 'daily 10:00'")
    now = clock.now()
    zone = clock.local_zone_name()
    old = store.get(name)
    new = edited_task(old, options, now, zone)
    change = ui.LIFECYCLE.plan_reinstall(old, new, backend, Path.cwd())
    if dry_run:
        assert old.source is not None
        ui.print_dry_run(change, (old.source, task_file_text(new, old.source)), as_json)
        return
    task = store.update(name, lambda task: edited_task(task, options, now, zone))
    if change is not None:
        try:
            ui.LIFECYCLE.apply(change)
        except SchedulerError as exc:
            store.update(name, lambda _: old)
            raise SchedulerError(f"{exc}; the task was left as it was") from None
    _echo_schedule(f"Updated task '{task.id}'", task)
    if change is not None:
        ui.print_change(change)


@schedule.command(name="install")
@click.argument("name", required=False, shell_complete=complete_stored_task)
@click.option("--all", "every", is_flag=True, help="Update every installed task whose entry is out of date.")
@install_options
@STORE_KEY_OPTION
@folder_options
def schedule_install(
    name: str | None,
    every: bool,
    backend: str,
    dry_run: bool,
    as_json: bool,
    store_key: bool,
    tasks_dir: Path | None,
    repo: bool,
) -> None:
    """Install a stored task into the OS scheduler, e.g. after 'add --no-install', or update its
    entry after its file changed (--all: every out-of-date one of the folder)."""
    from bassi_ci.commands import schedule_install as ui

    _check_json(as_json, dry_run)
    if every:
        _install_all(name, backend, dry_run, as_json, task_store(tasks_dir, repo))
        return
    if name is None:
        raise UsageError("name the task to install, or give --all to update every out-of-date one")
    task = task_store(tasks_dir, repo, name).get(name)
    installed_before = ui.LIFECYCLE.installed_here(task)
    change = ui.LIFECYCLE.plan_install(task, backend, Path.cwd())
    if dry_run:
        ui.print_dry_run(change, None, as_json)
        return
    env_file = ui.ensure_env_file(store_key)
    try:
        ui.LIFECYCLE.apply(change)
    except SchedulerError:
        if env_file is not None:
            env_file.unlink(missing_ok=True)
        raise
    assert change.install is not None
    verb = "Updated" if installed_before else "Installed"
    output.echo(f"{verb} task '{task.id}' with {change.install.backend}.")
    ui.print_env_file(env_file, store_key)
    ui.print_change(change)


def _install_all(name: str | None, backend: str, dry_run: bool, as_json: bool, store: TaskStore) -> None:
    """`install --all`: bring every out-of-date installed task of the folder in step with its file."""
    from bassi_ci.commands import schedule_install as ui

    if name is not None or backend != "auto":
        raise UsageError("--all updates every out-of-date task with its own backend; leave out NAME and --backend")
    changes = ui.out_of_date_changes(store, Path.cwd())
    unreadable = ui.note_unreadable(store)
    if dry_run:
        ui.print_dry_runs(changes, as_json, unreadable)
        return
    for done, (task_id, change) in enumerate(changes):
        try:
            ui.LIFECYCLE.apply(change)
        except BassiError as exc:  # documented to stop here: say which task, and what came before
            before = "the tasks above were updated" if done else "no task was updated"
            exc.args = (f"updating task '{task_id}' failed ({before}; it keeps its old entry): {exc}",)
            raise
        how = f"with {change.install.backend}" if change.install else "(uninstalled: its file has no schedule now)"
        output.echo(f"Updated task '{task_id}' {how}.")
        ui.print_change(change)
    if not changes:
        output.echo(ui.up_to_date(unreadable))


@schedule.command(name="uninstall")
@click.argument("name", shell_complete=complete_stored_task)
@folder_options
def schedule_uninstall(name: str, tasks_dir: Path | None, repo: bool) -> None:
    """Remove a task's OS scheduler entry; the task stays stored (NAME: an id also works after
    the task file is gone)."""
    from bassi_ci.commands import schedule_install as ui

    store = task_store(tasks_dir, repo, name)
    try:
        task = store.find(name)
    except TaskFileError:  # a broken file: its entry still fires, so remove it by id if installed
        if ui.LIFECYCLE.plan_uninstall(name, None) is None:
            raise
        task = None
    task_id = task.id if task is not None else name
    change = ui.LIFECYCLE.plan_uninstall(task_id, task)
    if change is None:
        if task is None:
            raise TaskNotFound(unknown_task_message(name, store.names()))
        output.echo(f"Task '{task_id}' is not installed; nothing to do.")
        return
    ui.LIFECYCLE.apply(change)
    assert change.remove is not None
    output.echo(f"Uninstalled task '{task_id}' from {change.remove.backend}.")
    ui.print_change(change)


@schedule.command(name="preview")
@click.argument("when")
@click.option("--tz", "timezone", help="IANA time zone (default: this machine's).")
@click.option("--after", help="Start after this ISO 8601 time (default: now).")
@click.option("--count", default=5, type=click.IntRange(1, 1000), help="How many fire times.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of ISO 8601 times.")
def schedule_preview(when: str, timezone: str | None, after: str | None, count: int, as_json: bool) -> None:
    """Print the next fire times of the schedule WHEN."""

    zone = timezone or clock.local_zone_name()
    start = parse_after(after, zone) if after else clock.now()
    parsed = parse_schedule(normalize_schedule(when, zone, start))
    times = next_runs(parsed, zone, start, count)
    if as_json:
        output.print_json([t.isoformat() for t in times])
        return
    output.echo(f"{describe(parsed)} ({zone})")
    for time in times:
        output.echo(f"  {time.strftime('%a %Y-%m-%d %H:%M %Z')}  ({time.isoformat()})")
    if not times:
        output.echo("  (no more runs)")


def parse_after(text: str, zone: str) -> datetime:
    """An --after value; a time without offset is read in the schedule's zone."""

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--after {text!r}: expected an ISO 8601 time such as 2027-03-10T09:00:00+01:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=validate_timezone(zone))
    return value


def _stats() -> dict[StatsKey, TaskStats]:
    """Run counts per task file from the history database, if there is one yet."""
    if not state_db_path().exists():
        return {}
    # Lazy: `schedule preview`/`add` and a first `schedule list` read no history; runs.history is ~7 ms.
    from bassi_ci.runs.history import read_task_stats

    return read_task_stats(state_db_path())


def _display(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v is not None) or "-"
    return str(value)


@schedule.command(name="logs")
@click.argument("name", shell_complete=complete_task_with_runs)
@click.option("-n", "limit", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many runs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@folder_options
def schedule_logs(name: str, limit: int, as_json: bool, tasks_dir: Path | None, repo: bool) -> None:
    """Show the latest runs of a task: time, status, duration, first line of the result."""
    # Lazy: only `schedule logs` reads runs; views.runs (sqlite3) adds ~10 ms to `preview`.
    from bassi_ci.views.runs import load_runs, log_entry, log_rows, task_ids_with_runs

    store = task_store(tasks_dir, repo, name)
    task = store.find(name)
    task_id = task.id if task else name
    records = load_runs(task_id, limit, history_key(task) if task else None)
    if not records and task is None:
        # Runs outlive their task (`delete` keeps them), so only a name with neither is unknown.
        raise TaskNotFound(unknown_task_message(name, [*store.names(), *task_ids_with_runs()]))
    if as_json:
        output.print_json([log_entry(record) for record in records])
        return
    if not records:
        output.echo(f"No runs of '{task_id}' yet. Run it now with: bassi execute {task_id}")
        return
    output.print_table(["TIME", "STATUS", "DURATION", "RESULT"], log_rows(records))


from bassi_ci.commands import schedule_debug  # noqa: E402  (last: it imports folder_options from here)

schedule.add_command(schedule_debug.COMMAND)
