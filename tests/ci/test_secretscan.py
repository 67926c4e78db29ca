"""The secret scan of commit-back: linear in its input (issue 7, item 4), and the same findings
as the patterns of bassi 0.1.0, which are kept here as the reference."""

from __future__ import annotations

import base64
import math
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bassi_ci.ci import secretscan
from bassi_ci.ci.secretscan import MAX_SCAN_BYTES, secret_file_reason, secret_text_reason

# bassi 0.1.0: correct, but quadratic (the assignment) or slow per position (the \b ones).
OLD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_\-]{16,}")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
)
OLD_ASSIGNMENT = re.compile(
    r"""(?i)[\w.-]*(?:api[_-]?key|secret|token|passwd|password|private[_-]?key|access[_-]?key)[\w.-]*["']?"""
    r"""\s*[:=]\s*["']([^"'\s]{16,})["']"""
)


def old_entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def old_reason(text: str) -> str | None:
    """secret_text_reason of bassi 0.1.0 without known secrets."""
    for label, pattern in OLD_PATTERNS:
        if pattern.search(text):
            return f"it contains what looks like {label}"
    for match in OLD_ASSIGNMENT.finditer(text):
        if old_entropy(match.group(1)) >= 3.5:
            name = re.split(r"\s*[:=]", match.group(0), maxsplit=1)[0]
            return f"it assigns a random-looking value to a secret-like name ({name} = …)"
    return None


# --- linear time: each of these ran for minutes to hours with the 0.1.0 patterns ---


def base64url_text(size: int) -> str:
    return base64.urlsafe_b64encode(random.Random(size).randbytes(size)).decode()[:size]


def hex_text(size: int) -> str:
    return random.Random(size).randbytes(size // 2 + 1).hex()[:size]


LINE = 40_000


@pytest.mark.timeout(10)
@pytest.mark.parametrize("make", [base64url_text, hex_text], ids=["base64url", "hex"])
def test_a_40000_character_line_scans_fast(make: Callable[[int], str]) -> None:
    assert secret_text_reason(make(LINE)) is None


def one_line_file(kind: str) -> bytes:
    size = MAX_SCAN_BYTES
    if kind == "base64url":
        return base64url_text(size).encode()
    if kind == "hex":
        return hex_text(size).encode()
    if kind == "random bytes":
        return random.Random(1).randbytes(size)
    if kind == "keywords":  # one name of keywords, then 'token = x…x ' again and again
        return (b"secret_token-api_key" * 62_490 + b"token = '" + b"x" * 20 + b" ") * 4
    raise AssertionError(kind)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("kind", ["base64url", "hex", "random bytes", "keywords"])
def test_a_5_mb_one_line_file_scans_fast(tmp_path: Path, kind: str) -> None:
    (tmp_path / "big.txt").write_bytes(one_line_file(kind))
    assert secret_file_reason(tmp_path, "big.txt", ()) is None


@pytest.mark.timeout(10)
def test_a_secret_after_a_long_line_is_still_found(tmp_path: Path) -> None:
    data = base64url_text(1_000_000) + "\napi_key = 'Zx8vQ2mL9pR4tY7wK3nB6cF1'\n"
    (tmp_path / "big.txt").write_text(data)
    assert secret_file_reason(tmp_path, "big.txt", ()) == (
        "it assigns a random-looking value to a secret-like name (api_key = …)"
    )


@pytest.mark.timeout(10)
def test_a_5_mb_gap_between_name_and_value_is_found_fast() -> None:
    text = "token" + " " * MAX_SCAN_BYTES + "= 'Zx8vQ2mL9pR4tY7wK3nB6cF1'"
    assert secret_text_reason(text) == "it assigns a random-looking value to a secret-like name (token = …)"


# --- the same findings as before ---


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('api_key = "Zx8vQ2mL9pR4tY7wK3nB6cF1"', "(api_key = …)"),
        ('{"Password": "Zx8vQ2mL9pR4tY7wK3nB6cF1"}', '(Password" = …)'),
        ("MY_SECRET_TOKEN:\n  'Zx8vQ2mL9pR4tY7wK3nB6cF1'", "(MY_SECRET_TOKEN = …)"),
        ("x.private-key.y='Zx8vQ2mL9pR4tY7wK3nB6cF1'", "(x.private-key.y = …)"),
        ("To\u212aEN='Zx8vQ2mL9pR4tY7wK3nB6cF1'", "(To\u212aEN = …)"),  # KELVIN SIGN: (?i) matches k
        ("\u017fecret='Zx8vQ2mL9pR4tY7wK3nB6cF1'", "(\u017fecret = …)"),  # long s
        ("AP\u0130KEY='Zx8vQ2mL9pR4tY7wK3nB6cF1'", "(AP\u0130KEY = …)"),  # I with dot above
        # The first assignment's value ends in the second's name: finditer moves past it, so
        # only the first counts, and it is not random-looking.
        ("token: 'aaaaaaaaaaaaaaaaaaaaatoken='Zx8vQ2mL9pR4tY7wK3nB6cF1'", None),
        # When the first name is no secret-like name, the second assignment is found.
        ("x: 'aaaaaaaaaaaaaaaaaaaaatoken='Zx8vQ2mL9pR4tY7wK3nB6cF1'", "(aaaaaaaaaaaaaaaaaaaaatoken = …)"),
        ("token = 'Zx8vQ2mL9pR4tY7w'", "(token = …)"),  # 16 characters, 16 distinct
        ("token = 'Zx8vQ2mL9pR4tY7'", None),  # 15 characters
        ("token = 'Zx8vQ2mL9pR4tY7wK3nB6cF1 '", None),  # a space ends the value
        ("tokens are = 'Zx8vQ2mL9pR4tY7wK3nB6cF1'", None),  # the name must touch the `=`
        ("-----BEGIN RSA PRIVATE KEY-----", "private key block"),
        ("-----BEGIN PGP PRIVATE KEY BLOCK-----", "private key block"),
        ("-----BEGIN PRIVATE KEY-----", "private key block"),
        ("-----BEGIN  PRIVATE KEY-----", None),
        ("-----BEGIN PRIVATE KEY KEY-----", None),
        ("id AKIAIOSFODNN7EXAMPLE.", "AWS access key id"),
        ("xAKIAIOSFODNN7EXAMPLE", None),
        ("ASIAIOSFODNN7EXAMPLE", "AWS access key id"),
        ("ghp_" + "a" * 36, "GitHub token"),
        ("_ghp_" + "a" * 36, None),
        ("ghp_" + "a" * 36 + "\u00e9", None),
        ("(github_pat_" + "a_" * 20 + ")", "GitHub token"),
        ("xoxb-0123456789", "Slack token"),
        ("axoxb-0123456789", None),
    ],
)
def test_findings(text: str, reason: str | None) -> None:
    found = secret_text_reason(text)
    assert found == old_reason(text)
    if reason is None:
        assert found is None
    else:
        assert found is not None and reason in found


PIECES = [
    "token", "TOKEN", "ToKeN", "To\u212aen", "api", "_", "-", ".", "key", "KEY", "apikey", "API-KEY", "secret",
    "\u017fecret", "AP\u0130", "ap\u0131", "passw", "ord", "d", "private", "access", "=", ":", "'", '"', " ", "\n",
    "\t", "\u2028", "\u00a0", "\x85", "x", "A", "0", "\u00e9", "\u03a3", "\u2160", "\u24b6", "/", "+",
    "Zx8vQ2mL9pR4", "abcdefghijklmnop", "q1w2e3r4t5y6u7i8", "AKIA", "ASIA", "IOSFODNN7EXAMPLE", "gh", "p_",
    "github_pat_", "a" * 20, "xox", "b-", "-----BEGIN ", "RSA ", "PRIVATE ", "KEY", " BLOCK", "-----", "sk-ant-",
]  # fmt: skip
NAME_CHARACTERS = "aZ09_.-\u00e9\u03a3\u2160"
VALUE_CHARACTERS = "aZ09_.-\u00e9:=/+!xyzQWERTYKJHGF"


def near_miss(rng: random.Random) -> str:
    """Text made of names, quotes, separators and values: many hold assignments, some overlapping."""

    def name() -> str:
        return "".join(rng.choices(NAME_CHARACTERS, k=rng.randint(0, 3))) + rng.choice(PIECES[:21])

    def value() -> str:
        return "".join(rng.choices(VALUE_CHARACTERS, k=rng.randint(12, 20)))

    pieces = []
    for _ in range(rng.randint(1, 10)):
        roll = rng.random()
        if roll < 0.4:  # an assignment, or nearly one
            pieces += [name(), rng.choice(["", "", "'", '"', "x"]), rng.choice(["", " ", "\n", "\u2028 "])]
            pieces += [rng.choice("=:=:/"), rng.choice(["", " ", "\t"]), rng.choice("'\"'x"), value()]
            pieces += [rng.choice(["'", '"', "'", " ", "", name() + "="])]
        elif roll < 0.6:
            pieces.append(name())
        elif roll < 0.8:
            pieces.append(value())
        else:
            pieces.append(rng.choice(PIECES))
    return "".join(pieces)


def test_same_findings_as_the_old_patterns() -> None:
    rng = random.Random(7)
    assignments = 0
    for _ in range(4000):
        text = near_miss(rng)
        assert secret_text_reason(text) == old_reason(text), text
        expected = [(match.start(), match.group(1)) for match in OLD_ASSIGNMENT.finditer(text)]
        assert list(secretscan.assignments(text)) == expected, text
        assignments += len(expected)
        for label, old in OLD_PATTERNS:
            now = [pattern for name, pattern in secretscan._PATTERNS if name == label]
            assert bool(old.search(text)) == any(pattern.search(text) for pattern in now), (label, text)
    assert assignments > 100  # the texts do exercise the assignment pattern


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES) | st.text("aZ09_.-=:'\" \u212a", max_size=20), max_size=16))
def test_same_findings_as_the_old_patterns_property(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert secret_text_reason(text) == old_reason(text)
    assert list(secretscan.assignments(text)) == [(m.start(), m.group(1)) for m in OLD_ASSIGNMENT.finditer(text)]


def test_the_entropy_shortcut_agrees() -> None:
    rng = random.Random(3)
    for _ in range(5000):
        value = "".join(rng.choices("abcdefghijklmnopq0123\u00e9", k=rng.randint(16, 48)))
        assert secretscan._random_looking(value) == (old_entropy(value) >= 3.5), value


@pytest.mark.parametrize("value", ["ABCDEFGHIJKLMNOP", "AABBCCDDEFGHIJKL", "ABCDEFGHIJKLAAAA", "aAbB" * 8, "x" * 2000])
def test_the_entropy_shortcut_agrees_at_the_threshold(value: str) -> None:
    assert secretscan._random_looking(value) == (old_entropy(value) >= 3.5)


def test_folding_keeps_what_a_case_insensitive_pattern_would_match() -> None:
    """Every code point: _fold keeps the length, and each part of the assignment pattern matches
    the folded character without (?i) exactly where it matches the original one with (?i)."""
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    folded = secretscan._fold(every)
    assert len(folded) == len(every)

    def where(pattern: str, text: str) -> set[int]:
        return {match.start() for match in re.finditer(pattern, text, re.DOTALL)}

    atoms = [r"[\w.-]", r"\s", r"""["']""", r"[:=]", r"""(?![^"'\s]).""", *sorted(set("apikeysecrtonpasswdv_-"))]
    for atom in atoms:
        assert where("(?i)" + re.escape(atom) if len(atom) == 1 else "(?i)" + atom, every) == where(
            re.escape(atom) if len(atom) == 1 else atom, folded
        ), atom
