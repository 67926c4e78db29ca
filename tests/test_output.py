"""print_table writes piped plain ASCII itself (sparing rich); the result must be rich's, byte for byte."""

from __future__ import annotations

import io
import sys

import pytest

from bassi_ci import output

HEADERS = ["NAME", "SCHEDULE", "NEXT RUN", "STATUS"]
PLAIN_ROWS = [
    ["weekly-report", "every Monday at 09:00", "2027-03-15 09:00", "enabled"],
    ["x", "-", "-", "error: /tmp/tasks/x.yaml: field 'limits.timeout': expected seconds, got 0"],
    ["a-much-longer-task-id-than-the-others", "every 30 minutes", "", "paused"],
    ["punctuation", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "[bold]not markup[/]", ":smile: $HOME"],
]
# What rich changes, or might: tabs (expanded by cell width), carriage returns and bells
# (stripped), escape sequences, wide and combining characters.
TRICKY_CELLS = ["tab\there", "carriage\rreturn", "bell\x07", "\x1b[31mred\x1b[0m", "日本語", "e\u0301", "é"]


def rich_rendering(rows: list[list[str]], styles: list[str | None]) -> str:
    """What the rich branch of print_table writes to a stream that is not a terminal."""
    buffer = io.StringIO()
    saved = sys.stdout
    sys.stdout = buffer
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(output, "_plain_is_identical", lambda lines: False)
            output.print_table(HEADERS, rows, styles)
    finally:
        sys.stdout = saved
    return buffer.getvalue()


@pytest.mark.parametrize("count", [0, 1, len(PLAIN_ROWS)])
def test_piped_plain_table_is_byte_identical_to_rich(count: int, capsys: pytest.CaptureFixture[str]) -> None:
    rows = PLAIN_ROWS[:count]
    styles: list[str | None] = ["red", None, "dim", "green"][:count]
    expected = rich_rendering(rows, styles)
    assert output._plain_is_identical([*HEADERS, *(cell for row in rows for cell in row)])
    output.print_table(HEADERS, rows, styles)
    assert capsys.readouterr().out == expected


@pytest.mark.parametrize("cell", TRICKY_CELLS)
def test_text_rich_might_change_goes_through_rich(cell: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [["task", cell, "2027-03-15 09:00", "enabled"]]
    assert not output._plain_is_identical([cell])
    output.print_table(HEADERS, rows)
    assert capsys.readouterr().out == rich_rendering(rows, [])


def test_the_guard_matters_rich_really_changes_a_tab_and_a_carriage_return() -> None:
    rendered = rich_rendering([["t\tx", "a\rb", "-", "-"]], [])
    assert "\t" not in rendered and "\r" not in rendered


@pytest.mark.parametrize(("variable", "value"), [("FORCE_COLOR", "1"), ("TTY_COMPATIBLE", "1")])
def test_forced_colour_keeps_rich_styles_when_piped(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv(variable, value)
    output.print_table(HEADERS, PLAIN_ROWS[:1], ["red"])
    assert "\x1b[" in capsys.readouterr().out  # rich's colour, as before the plain path existed
