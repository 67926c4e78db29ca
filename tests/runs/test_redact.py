"""Secrets are replaced wherever they appear, including key-shaped strings no variable holds."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bassi_ci.runs.redact import REDACTED, Redactor, encoded_forms, is_secret_name, secret_values


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


@pytest.mark.parametrize(
    "name", ["my_token", "My_Api_Key", "db_password", "Github_Secret", "anthropic_api_key", "gcp_Credentials"]
)
def test_secret_names_match_in_any_case(name: str) -> None:
    assert is_secret_name(name)
    assert secret_values({name: "value-of-" + name}) == ["value-of-" + name]
    assert Redactor.from_environ({name: "value-of-" + name}).text(f"x value-of-{name} y") == f"x {REDACTED} y"


@pytest.mark.parametrize("name", ["HOME", "PATH", "LANG", "KE_Y", "github_sha"])
def test_ordinary_names_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


SECRET = "tok?>~~9f8e7d6c5b4a3921"  # its base64 has '+' and '/', so both alphabets differ


def b64(data: bytes, *, url: bool = False, pad: bool = True) -> str:
    text = (base64.urlsafe_b64encode if url else base64.b64encode)(data).decode()
    return text if pad else text.rstrip("=")


def test_the_base64_alphabets_of_the_test_secret_differ() -> None:
    assert b64(SECRET.encode()) != b64(SECRET.encode(), url=True)


@pytest.mark.parametrize("url", [False, True])
@pytest.mark.parametrize("pad", [False, True])
@pytest.mark.parametrize("newline", [False, True])  # `echo -n $S | base64`, `echo $S | base64`
def test_the_base64_of_a_secret_on_its_own_is_redacted_whole(url: bool, pad: bool, newline: bool) -> None:
    encoded = b64(SECRET.encode() + b"\n" * newline, url=url, pad=pad)
    assert Redactor([SECRET]).text(f"out: {encoded}\n") == f"out: {REDACTED}\n"


def test_the_base64_of_a_long_secret_is_redacted_line_by_line_when_wrapped() -> None:
    secret = "github_pat_" + "A1b2C3d4E5f6" * 8  # 107 bytes: `base64` wraps its 144 characters
    redactor = Redactor([secret])
    for width in (76, 64):  # coreutils base64, openssl base64
        for data in (secret.encode(), secret.encode() + b"\n"):
            encoded = b64(data)
            lines = [encoded[start : start + width] for start in range(0, len(encoded), width)]
            assert len(lines) > 1
            assert [redactor.text(line) for line in lines if len(line) >= 8] == [REDACTED] * len(
                [line for line in lines if len(line) >= 8]
            )


def secret_only_characters(prefix: bytes, secret: bytes, suffix: bytes, *, url: bool) -> str:
    """The characters of b64(prefix + secret + suffix) that hold bits of the secret alone."""
    first, end = len(prefix) * 8, (len(prefix) + len(secret)) * 8
    return b64(prefix + secret + suffix, url=url)[-(-first // 6) : end // 6]


@settings(max_examples=300, deadline=None)
@given(
    secret=st.text(min_size=6, max_size=40).filter(lambda s: len(s.strip()) >= 6),
    prefix=st.binary(max_size=8),
    suffix=st.binary(max_size=8),
    url=st.booleans(),
)
def test_a_secret_encoded_inside_longer_data_is_redacted_at_every_alignment(
    secret: str, prefix: bytes, suffix: bytes, url: bool
) -> None:
    """`printf 'user:%s' "$TOKEN" | base64` (a Basic auth header): of the secret, only the one
    character at each end that mixes its bits with its neighbours' stays."""
    raw = secret.encode("utf-8", "surrogateescape")
    encoded = b64(prefix + raw + suffix, url=url)
    inner = secret_only_characters(prefix, raw, suffix, url=url)
    redacted = Redactor([secret]).text(encoded)
    assert REDACTED in redacted
    assert inner not in redacted
    assert len(redacted.replace(REDACTED, "")) <= len(encoded) - len(inner)


def test_short_encoded_pieces_are_not_redacted() -> None:
    assert min(len(form) for form in encoded_forms("abcdef")) == 7  # "abcdef" at byte offset 1 or 2
    assert Redactor(["abcdef"]).text("YWJj Cg== ab") == "YWJj Cg== ab"


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.text(alphabet="ab=\n", min_size=1, max_size=6), min_size=1, max_size=12),
    text=st.text(alphabet="ab=\nc", max_size=40),
)
def test_the_longest_secret_wins_where_several_start(words: list[str], text: str) -> None:
    """The trie-shaped pattern redacts exactly as a flat alternation, longest first, would."""
    forms = {form for word in words for form in (word, *encoded_forms(word))}
    flat = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    assert Redactor(words).text(text) == re.sub(flat, REDACTED, text)
