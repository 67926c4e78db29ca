"""Refuse to commit what looks like a credential: a last line of defence for commit-back.

An agent with a shell can write anything into the workspace; this check runs on
exactly the files commit-back is about to stage.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

from bassi_ci.runs.redact import is_secret_name

MAX_SCAN_BYTES = 5_000_000
# Every pattern runs in time linear in the text, whatever the text (issue 7, item 4): 5 MB
# of base64, hex, random bytes or keywords scans in well under a second
# (benchmarks/bench_secretscan.py). Each starts with a literal, which the regex engine finds
# with a fast string search; a leading \b is checked after the literal by a look-behind
# (`AKIA(?<!\wAKIA)` is `\bAKIA`), else the engine would try every position of the text;
# an alternation of literals is split into one pattern per literal for the same reason.
# Possessive quantifiers (`*+`, Python 3.11+) never give back what they took.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_\-]{16,}")),
    # \b(?:AKIA|ASIA)[0-9A-Z]{16}\b
    ("an AWS access key id", re.compile(r"AKIA(?<!\wAKIA)[0-9A-Z]{16}\b")),
    ("an AWS access key id", re.compile(r"ASIA(?<!\wASIA)[0-9A-Z]{16}\b")),
    # -----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----: the words are taken possessively
    # (PRIVATE and KEY among them), then the last ones are checked.
    (
        "a private key block",
        re.compile(r"-----BEGIN (?:[A-Z0-9]++ )*+(?:(?<= PRIVATE )KEY|(?<= PRIVATE KEY )BLOCK)-----"),
    ),
    # \b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b
    ("a GitHub token", re.compile(r"gh(?<!\wgh)[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a GitHub token", re.compile(r"github_pat_(?<!\wgithub_pat_)[A-Za-z0-9_]{40,}\b")),
    # \bxox[abposr]-[A-Za-z0-9-]{10,}
    ("a Slack token", re.compile(r"xox(?<!\wxox)[abposr]-[A-Za-z0-9-]{10,}")),
)
# `api_key = "…"`, `SECRET_TOKEN: '…'`, `"password": "…"` with a random-looking value: what
#   (?i)[\w.-]*(?:KEYWORD)[\w.-]*["']?\s*[:=]\s*["']([^"'\s]{16,})["']
# finds with finditer, but in linear time. That pattern tried every split of a long run of
# name characters around a keyword, from every start: quadratic, ~50 s for a 40,000-character
# line of base64 (issue 7). The name is always a whole run of [\w.-] (what follows it is a
# quote, a space, `:` or `=`), and everything after the name is fixed, so the match is found
# from its rare end: on the reversed text, from a closing quote, take the value, the `:`/`=`
# and the whole name possessively, and look for a keyword in the name in one pass. The
# reversed matches are lookaheads, so overlapping ones are all seen; assignments() then
# keeps them left to right the way finditer would. Case: the text is folded first (_fold),
# so the keywords are plain lowercase literals.
_KEYWORDS = ("api[_-]?key", "secret", "token", "passwd", "password", "private[_-]?key", "access[_-]?key")


def _reversed_keyword(word: str) -> str:
    return "".join(reversed(re.findall(r"\[[^]]*\]\??|.", word)))


_ASSIGNMENT_REVERSED = re.compile(
    r"""["'](?=([^"'\s]{16,}+)["']\s*+[:=]\s*+["']?+([\w.-]*?(?:"""
    + "|".join(_reversed_keyword(word) for word in _KEYWORDS)
    + r""")[\w.-]*+))"""
)
_NAME = re.compile(r"""[\w.-]*+["']?+""")
_SECRET_NAMES = re.compile(
    r"^(?:\.env(?:\..+)?|.*\.(?:pem|key|p12|pfx|jks|keystore)|id_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?|"
    r"\.netrc|\.pypirc|\.npmrc|\.git-credentials|credentials(?:\.json)?)$"
)
_HARMLESS_NAMES = re.compile(r"^\.env\.(?:example|sample|template|dist)$|^id_\w+\.pub$")
MIN_ENTROPY = 3.5
_MIN_DISTINCT = math.ceil(2**MIN_ENTROPY)  # 12
_XLOG2X = tuple(c * math.log2(c) if c else 0.0 for c in range(1024))
# A known secret shorter than this would match ordinary text too often to refuse a commit on it.
MIN_KNOWN_SECRET_LEN = 8


# (variable name, value): the name goes into the refusal message, the value never does.
KnownSecret = tuple[str, str]


def secret_path_reason(path: str) -> str | None:
    """Why a file name alone marks it as secret (e.g. `.env`), or None."""
    name = PurePosixPath(path).name
    if _SECRET_NAMES.match(name) and not _HARMLESS_NAMES.match(name):
        return f"its name ({name}) is one that usually holds credentials"
    return None


def secret_text_reason(text: str, known_secrets: tuple[KnownSecret, ...] = ()) -> str | None:
    """Why a file's content looks like it holds a credential, or None."""
    for name, secret in known_secrets:
        if len(secret) >= MIN_KNOWN_SECRET_LEN and secret in text:
            return f"it contains the value of the environment variable {name}"
    for label, pattern in _PATTERNS:
        if pattern.search(text):
            return f"it contains what looks like {label}"
    for start, value in assignments(text):
        if _random_looking(value):
            return f"it assigns a random-looking value to a secret-like name ({_preview(text, start)})"
    return None


def assignments(text: str) -> Iterator[tuple[int, str]]:
    """(start, value) of each `name = "value"` with a secret-like name, left to right, as
    finditer of the pattern in the comment above _KEYWORDS finds them; linear in the text."""
    size = len(text)
    # Matches of the reversed text, right to left; one per name, and names do not nest.
    found = list(_ASSIGNMENT_REVERSED.finditer(_fold(text)[::-1]))
    resume = 0  # finditer goes on after the end of its last match
    for match in reversed(found):
        start = size - match.end(2)
        if start >= resume:
            resume = size - match.start()
            yield start, text[size - match.end(1) : size - match.start(1)]


def _fold(text: str) -> str:
    """`text`, as long, with each character that a case-insensitive pattern matches to a
    keyword letter replaced by that lowercase ASCII letter. lower() alone would turn U+0130
    into two characters and leave U+0131 (dotless i) and U+017F (long s) as they are; every
    other character it changes stays a name character, a space or neither, as before
    (tests/ci/test_secretscan.py checks every code point)."""
    return text.replace("\u0130", "i").replace("\u0131", "i").replace("\u017f", "s").lower()


def _random_looking(value: str) -> bool:
    """entropy(value) >= MIN_ENTROPY, cheaper: 5 MB can hold 200,000 assignments to check."""
    distinct = set(value)
    if len(distinct) < _MIN_DISTINCT:  # the entropy is at most log2(distinct characters)
        return False
    size = len(value)
    counts = map(value.count, distinct)
    # entropy = log2(size) - sum(c * log2(c)) / size; c * log2(c) from a table for short values.
    total = sum(map(_XLOG2X.__getitem__, counts)) if size < len(_XLOG2X) else sum(c * math.log2(c) for c in counts)
    fast = math.log2(size) - total / size
    if abs(fast - MIN_ENTROPY) < 1e-9:  # rounding could differ from entropy()'s at the threshold
        return entropy(value) >= MIN_ENTROPY
    return fast >= MIN_ENTROPY


def known_secret_values(environ: Mapping[str, str] | None = None) -> tuple[KnownSecret, ...]:
    """(name, value) of every secret-named environment variable (the redactor's rule), longest first.

    Whole values only: the redactor also hides single lines of multi-line secrets, but a
    commit that merely shares a line such as '-----BEGIN CERTIFICATE-----' is no leak.
    """
    env = os.environ if environ is None else environ
    by_value = {value.strip(): name for name, value in sorted(env.items()) if is_secret_name(name) and value.strip()}
    return tuple(sorted(((name, value) for value, name in by_value.items()), key=lambda pair: -len(pair[1])))


def secret_file_reason(root: Path, path: str, known_secrets: tuple[KnownSecret, ...]) -> str | None:
    reason = secret_path_reason(path)
    if reason is not None:
        return reason
    file = root / path
    if not file.is_file():
        return None  # a deletion carries no content
    with file.open("rb") as handle:
        data = handle.read(MAX_SCAN_BYTES)
    return secret_text_reason(data.decode("utf-8", errors="replace"), known_secrets)


def entropy(text: str) -> float:
    """Shannon entropy in bits per character: ~4+ for random keys, lower for words."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _preview(text: str, start: int) -> str:
    """The name of the assignment at `start` (with its closing quote, if any), never the value."""
    match = _NAME.match(text, start)
    assert match is not None  # _NAME matches the empty string
    return f"{match.group()} = …"
