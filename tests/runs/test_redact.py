"""Secrets are replaced wherever they appear, including key-shaped strings no variable holds."""

from __future__ import annotations

from bassi_ci.runs.redact import REDACTED, Redactor, secret_values


def test_secret_names() -> None:
    env = {
        "MY_API_KEY": "value-one-1", "GH_TOKEN": "value-two-2", "DB_PASSWORD": "value-three",
        "AWS_SECRET_ACCESS_KEY": "value-four", "GOOGLE_CREDENTIALS": "value-five", "HOME": "/root/home",
        "SHORT_TOKEN": "abc", "ANTHROPIC_API_KEY": "sk-ant-whatever",
    }
    assert set(secret_values(env)) == {
        "value-one-1", "value-two-2", "value-three", "value-four", "value-five", "sk-ant-whatever"
    }


def test_redacts_text_and_structures() -> None:
    redactor = Redactor(["hunter2-long", "hunter2-longer"])
    assert redactor.text("pw=hunter2-longer.") == f"pw={REDACTED}."
    assert redactor.text("key sk-ant-api03-AbC_d-9 end") == f"key {REDACTED} end"
    data = redactor.data({"a": ["x hunter2-long", 3, None], "hunter2-long": True})
    assert data == {"a": [f"x {REDACTED}", 3, None], REDACTED: True}


def test_nothing_to_redact() -> None:
    assert Redactor([]).text("plain text") == "plain text"
