"""`bassi schedule debug NAME`: why a scheduled task did or did not run (see scheduling/debug.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bassi_ci import clock, output
from bassi_ci.commands.completion import complete_stored_task
from bassi_ci.commands.schedule import folder_options, task_store


@click.command(name="debug")
@click.argument("name", shell_complete=complete_stored_task)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@folder_options
def schedule_debug(name: str, as_json: bool, tasks_dir: Path | None, repo: bool) -> None:
    """Show whether a task will really run: OS entry, command, environment, next, last and missed runs."""
    # Lazy: only `debug` reads the OS scheduler; the report's modules add ~15 ms to `schedule preview`.
    from bassi_ci.scheduling.debug import debug_report

    store = task_store(tasks_dir, repo)
    task = store.get(name)
    install = f"bassi schedule install {task.id}" + (f" {store.flag}" if store.flag else "")
    report = debug_report(task, clock.now(), install)
    if as_json:
        output.print_json(report)
        return
    _print_fields(_fields(report))
    for note in report["notes"]:
        output.echo(f"! {note}")


# What schedule.py registers: an explicit type, which mypy cannot infer across the import cycle.
COMMAND: click.Command = schedule_debug


def _fields(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The report as 'key: value' lines; a list gets one line per item under its key."""
    pairs = [
        ("task", f"{report['id']} ({report['path'] or 'no file'})"),
        ("backend", _backend(report)),
    ]
    if report["installed"]:
        pairs += _listed("entry", report["entry_paths"])
        pairs.append(("state", _state(report)))
        pairs.append(("command", report["command_line"] or "-"))
        pairs.append(("executable", _checked(report["executable"])))
        pairs.append(("workdir", _checked(report["workdir"])))
    pairs.append(("env file", _checked(report["env_file"])))
    pairs += _listed("environment", [f"{name}={value}" for name, value in report["environment"].items()])
    pairs += _listed("next runs", report["next_runs"])
    if report["installed"]:
        pairs += _listed(f"next runs ({report['backend']})", report["os_next_runs"] or ["(it does not say)"])
    pairs += _listed("last runs", [_run(run) for run in report["last_runs"]] or ["(none)"])
    if report["installed"]:
        pairs += _listed("missed runs", _missed(report["missed_runs"]))
    pairs += [(key, value) for key, value in report["details"].items() if key != "hint"]
    return pairs


def _backend(report: dict[str, Any]) -> str:
    if report["backend"] is None:
        return "not installed"
    return f"{report['backend']}, installed {report['installed_at']}"


def _state(report: dict[str, Any]) -> str:
    def word(value: bool | None) -> str:
        return {True: "yes", False: "no", None: "unknown"}[value]

    loaded = "" if report["loaded"] is None else f", loaded {word(report['loaded'])}"
    return f"installed yes{loaded}, enabled {word(report['enabled'])}"


def _checked(item: dict[str, Any]) -> str:
    if item["path"] is None:
        return "(not named in the command)"
    return f"{item['path']} ({'exists' if item['exists'] else 'MISSING'})"


def _run(run: dict[str, Any]) -> str:
    duration = f" {run['duration_ms'] / 1000:.1f}s" if run["duration_ms"] is not None else ""
    return f"{run['started_at']} {run['status']}{duration}"


def _missed(missed: dict[str, Any]) -> list[str]:
    if not missed["count"]:
        return [f"none (of {missed['checked']} due times since {missed['since'] or 'the install'})"]
    lines = [f"{missed['count']} of {missed['checked']} due times since {missed['since']}; the latest:"]
    return lines + [f"  {when}" for when in missed["latest"]]


def _print_fields(pairs: list[tuple[str, str]]) -> None:
    """'key: value' lines with the values aligned; a line without a key continues the one above."""
    width = max(len(key) for key, _ in pairs) + 1
    for key, value in pairs:
        output.echo(f"{key + ':' if key else '':<{width}} {value}")


def _listed(key: str, values: list[str]) -> list[tuple[str, str]]:
    """One pair per value, the key only on the first (the rest are aligned under it)."""
    if not values:
        return [(key, "-")]
    return [(key if index == 0 else "", value) for index, value in enumerate(values)]
