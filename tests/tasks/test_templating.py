"""Template variables: plain substitution, brace escapes, unknown names are usage errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bassi_ci.errors import ExitCode, TemplateError
from bassi_ci.tasks.templating import builtin_variables, expand, expand_output_path, merge_variables

NOW = datetime(2027, 3, 10, 8, 30, 5, tzinfo=UTC)  # a Wednesday


def variables(**extra: str) -> dict[str, str]:
    builtins = builtin_variables(
        task_id="weekly", run_id="20270310T083005Z-abcdef", now=NOW, zone="Europe/Berlin", last_run=None
    )
    return merge_variables(builtins, extra)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("report for {date}", "report for 2027-03-10"),
        ("{time} {weekday}", "09:30 Wednesday"),
        ("{timestamp}", "2027-03-10T09:30:05+01:00"),
        ("{task_id}/{run_id}", "weekly/20270310T083005Z-abcdef"),
        ("since {last_run}", "since never"),
        ("team {team}", "team platform"),
        ('json {{"a": 1}}', 'json {"a": 1}'),
        ("{{date}}", "{date}"),
        ("a } b", "a } b"),
        ("no variables", "no variables"),
        ("{team}{team}", "platformplatform"),
        ("{date.year}", None),
        ("{0}", None),
        ("{unknown}", None),
        ("open { brace", None),
        ("{", None),
        ("{date!r}", None),
    ],
)
def test_expand(template: str, expected: str | None) -> None:
    values = variables(team="platform")
    if expected is None:
        with pytest.raises(TemplateError) as problem:
            expand(template, values)
        assert problem.value.exit_code is ExitCode.USAGE_ERROR
    else:
        assert expand(template, values) == expected


def test_unknown_variable_is_named() -> None:
    with pytest.raises(TemplateError, match=r"unknown template variable '\{team\}'"):
        expand("hello {team}", variables())


def test_values_are_not_expanded_again() -> None:
    assert expand("{a}", variables(a="{date}")) == "{date}"


def test_last_run_in_task_zone() -> None:
    values = builtin_variables(
        task_id="t", run_id="r", now=NOW, zone="America/New_York", last_run=datetime(2027, 3, 3, 14, 0, tzinfo=UTC)
    )
    assert values["last_run"] == "2027-03-03T09:00:00-05:00"
    assert values["date"] == "2027-03-10"


def test_run_id_cannot_be_overridden() -> None:
    with pytest.raises(TemplateError, match="run_id"):
        merge_variables(variables(), {"run_id": "x"})


def test_user_vars_override_date_for_backfills() -> None:
    assert expand("{date}", merge_variables(variables(), {"date": "2027-01-01"})) == "2027-01-01"


def test_output_path_stays_in_workspace(tmp_path: Path) -> None:
    expected = tmp_path.resolve() / "reports/2027-03-10.md"
    assert expand_output_path("reports/{date}.md", variables(), tmp_path) == expected
    with pytest.raises(TemplateError, match="outside the workspace"):
        expand_output_path("../{date}.md", variables(), tmp_path)


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        # Wednesday 20:30 UTC is Thursday 09:30 in Auckland (NZDT, UTC+13)
        (datetime(2027, 3, 10, 20, 30, tzinfo=UTC), "Pacific/Auckland", ("2027-03-11", "Thursday", "09:30")),
        # Wednesday 03:00 UTC is Tuesday 19:00 in Los Angeles (PST, UTC-8)
        (datetime(2027, 3, 10, 3, 0, tzinfo=UTC), "America/Los_Angeles", ("2027-03-09", "Tuesday", "19:00")),
    ],
)
def test_date_weekday_and_time_are_those_of_the_tasks_zone_across_a_date_boundary(
    now: datetime, zone: str, expected: tuple[str, str, str]
) -> None:
    values = builtin_variables(task_id="t", run_id="r", now=now, zone=zone, last_run=now)
    assert (values["date"], values["weekday"], values["time"]) == expected
    assert values["timestamp"].startswith(f"{expected[0]}T{expected[2]}")
    assert values["last_run"] == values["timestamp"]
