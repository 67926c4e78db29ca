"""Secrets are replaced wherever they appear, including key-shaped strings no variable holds."""

from __future__ import annotations

from bassi_ci.runs.redact import REDACTED, Redactor, secret_values


def test_secret_names() -> None:
    env = {
        "MY_API_KEY": "value-one-1",
        "GH_TOKEN": "value-two-2",
        "DB_PASSWORD": "value-three",
        "AWS_SECRET_ACCESS_KEY": "value-four",
        "GOOGLE_CREDENTIALS": "value-five",
        "HOME": "/root/home",
        "SHORT_TOKEN": "abc",
        "ANTHROPIC_API_KEY": "sk-ant-whatever",
    }
    assert set(secret_values(env)) == {
        "value-one-1",
        "value-two-2",
        "value-three",
        "value-four",
        "value-five",
        "sk-ant-whatever",
    }


def test_redacts_text_and_structures() -> None:
    redactor = Redactor(["hunter2-long", "hunter2-longer"])
    assert redactor.text("pw=hunter2-longer.") == f"pw={REDACTED}."
    assert redactor.text("key sk-ant-api03-AbC_d-9 end") == f"key {REDACTED} end"
    data = redactor.data({"a": ["x hunter2-long", 3, None], "hunter2-long": True})
    assert data == {"a": [f"x {REDACTED}", 3, None], REDACTED: True}


def test_nothing_to_redact() -> None:
    assert Redactor([]).text("plain text") == "plain text"


def test_multi_line_and_trailing_newline_values_are_redacted_line_by_line() -> None:
    env = {
        "MY_PRIVATE_KEY": "-----BEGIN KEY-----\nAAAAlinetwoSECRETpart\n  BBBBline3SECRET\n-----END KEY-----",
        "MY_TOKEN": "trailingnewlinetoken99\n",
        "OTHER_TOKEN": "line-one-x\nab\n",
    }
    redactor = Redactor.from_environ(env)
    # what a console that writes one line at a time sees
    for line in ["AAAAlinetwoSECRETpart", "    BBBBline3SECRET", "trailingnewlinetoken99", "line-one-x"]:
        assert redactor.text(line).strip() == REDACTED
    assert "ab" not in secret_values(env)  # a short line would blank out ordinary words


def test_a_secret_split_between_parts_is_redacted_in_both() -> None:
    redactor = Redactor(["tok-9f8e7d6c5b4a"])
    assert redactor.texts(["the token is tok-9f8e", "7d6c5b4a, bye"]) == [
        f"the token is {REDACTED}",
        f"{REDACTED}, bye",
    ]
    assert redactor.texts(["sk-ant-", "api03-abcdef ok"]) == [REDACTED, f"{REDACTED} ok"]
    assert redactor.texts(["plain", " text"]) == ["plain", " text"]
