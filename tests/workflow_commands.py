"""What the GitHub runner makes of a job log: shared by the execute (commands) and observer (runs) tests."""

from __future__ import annotations


def github_commands(log: str) -> tuple[list[str], list[str]]:
    """What the GitHub runner would make of `log`: the lines it takes as workflow commands,
    and the tokens of the `::stop-commands::` blocks that kept other lines inert."""
    commands: list[str] = []
    tokens: list[str] = []
    resume: str | None = None
    for line in (raw.strip() for raw in log.splitlines()):
        if resume is not None:
            if line == resume:
                resume = None
        elif line.startswith("::stop-commands::"):
            tokens.append(line.removeprefix("::stop-commands::"))
            resume = f"::{tokens[-1]}::"
        elif line.startswith("::"):
            commands.append(line)
    return commands, tokens
