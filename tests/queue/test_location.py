"""Which queue a command uses, and how its URL is shown (never with its password)."""

from __future__ import annotations

import pytest

from bassi_ci.errors import ExitCode, UsageError
from bassi_ci.queue.location import postgres_url, redact_url, url_secrets
from bassi_ci.queue.model import QueueUnavailable


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ana:pw-1@db.example:5432/queue", "postgresql://ana:***@db.example:5432/queue"),
        ("postgres://ana@db/queue", "postgres://ana@db/queue"),
        ("postgresql://db/queue?password=pw-2&sslmode=require", "postgresql://db/queue?password=***&sslmode=require"),
        (
            "postgresql://ana:p%40ss@h1:5432,h2:5433/q?sslpassword=k",
            "postgresql://ana:***@h1:5432,h2:5433/q?sslpassword=***",
        ),
        ("postgresql://ana:a:b@c@db/q", "postgresql://ana:***@db/q"),
        ("postgresql://ana:pw@[::1/q", "***"),
    ],
)
def test_redacted_urls_keep_everything_but_secrets(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_secrets_of_a_url_include_their_decoded_form() -> None:
    assert set(url_secrets("postgresql://ana:p%40ss@db/q?password=other")) == {"p%40ss", "p@ss", "other"}
    assert url_secrets("postgresql://ana@db/q") == []


def test_no_url_means_this_machines_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASSI_QUEUE_URL", raising=False)
    assert postgres_url() is None
    monkeypatch.setenv("BASSI_QUEUE_URL", "  ")
    assert postgres_url() is None


def test_the_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSI_QUEUE_URL", "postgresql://env/q")
    assert postgres_url() == "postgresql://env/q"
    assert postgres_url("POSTGRES://option/q") == "POSTGRES://option/q"


@pytest.mark.parametrize("url", ["mysql://ana:pw-3@db/q", "db.example/queue", "postgresql:/db"])
def test_other_urls_are_usage_errors_naming_the_forms(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASSI_QUEUE_URL", url)
    with pytest.raises(UsageError, match=r"^BASSI_QUEUE_URL .*expected postgresql://USER:PASSWORD@HOST") as caught:
        postgres_url()
    assert "pw-3" not in str(caught.value)
    with pytest.raises(UsageError, match=r"^--queue-url "):
        postgres_url(url)


def test_an_unreachable_queue_is_exit_6() -> None:
    assert QueueUnavailable("x").exit_code is ExitCode.API_ERROR
