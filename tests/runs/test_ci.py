"""GitHub workflow-command escaping, step summaries and log folding."""

from __future__ import annotations

from bassi_ci.errors import ExitCode
from bassi_ci.runs.ci import CiEnvironment, Folder, error_annotation, escape_data, escape_property, step_summary
from bassi_ci.runs.result import ErrorInfo, RunReport


def test_escaping_follows_the_workflow_command_rules() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert error_annotation("bad\nthing", title="bassi: failed") == "::error title=bassi%3A failed::bad%0Athing"


def test_step_summary_has_the_numbers() -> None:
    report = RunReport(
        run_id="r",
        task_id="weekly",
        exit_code=ExitCode.TIMEOUT,
        started_at="2027-03-10T09:00:00.000+00:00",
        finished_at="2027-03-10T09:00:02.000+00:00",
        duration_ms=2_000,
        num_turns=3,
        usage={"input_tokens": 1200, "output_tokens": 34},
        total_cost_usd=0.0123,
        final_text="half done | ok",
        error=ErrorInfo("RunTimeout", "time limit"),
    )
    text = step_summary(report)
    for part in (
        "weekly",
        "`timeout` (exit 4)",
        "| Turns | 3 |",
        "1,234",
        "$0.0123",
        "2.0s",
        "half done | ok",
        "time limit",
    ):
        assert part in text


def test_folding_per_system() -> None:
    github = Folder(CiEnvironment.detect({"GITHUB_ACTIONS": "true", "CI": "true"}))
    assert github.start("→ bash: ls\nx") == "::group::→ bash: ls x"
    assert github.end() == "::endgroup::"
    gitlab = Folder(CiEnvironment.detect({"GITLAB_CI": "true", "CI": "true"}))
    start = gitlab.start("title")
    assert start.startswith("\x1b[0Ksection_start:") and "[collapsed=true]\r\x1b[0Ktitle" in start
    end = gitlab.end()
    assert end is not None and end.startswith("\x1b[0Ksection_end:")
    assert start.split(":")[2].split("[")[0] == end.split(":")[2].split("\r")[0]
    plain = Folder(CiEnvironment.detect({"CI": "true"}))
    assert not plain.folds and plain.end() is None
