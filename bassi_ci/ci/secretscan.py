"""Refuse to commit what looks like a credential: a last line of defence for commit-back.

An agent with a shell can write anything into the workspace; this check runs on
exactly the files commit-back is about to stage.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from bassi_ci.runs.redact import is_secret_name

MAX_SCAN_BYTES = 5_000_000
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_\-]{16,}")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
)
# `api_key = "…"`, `SECRET_TOKEN: '…'`, `"password": "…"` with a random-looking value.
_ASSIGNMENT = re.compile(
    r"""(?i)[\w.-]*(?:api[_-]?key|secret|token|passwd|password|private[_-]?key|access[_-]?key)[\w.-]*["']?"""
    r"""\s*[:=]\s*["']([^"'\s]{16,})["']"""
)
_SECRET_NAMES = re.compile(
    r"^(?:\.env(?:\..+)?|.*\.(?:pem|key|p12|pfx|jks|keystore)|id_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?|"
    r"\.netrc|\.pypirc|\.npmrc|\.git-credentials|credentials(?:\.json)?)$"
)
_HARMLESS_NAMES = re.compile(r"^\.env\.(?:example|sample|template|dist)$|^id_\w+\.pub$")
MIN_ENTROPY = 3.5
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
    for match in _ASSIGNMENT.finditer(text):
        if entropy(match.group(1)) >= MIN_ENTROPY:
            return f"it assigns a random-looking value to a secret-like name ({_preview(match.group(0))})"
    return None


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


def _preview(text: str) -> str:
    name = re.split(r"\s*[:=]", text, maxsplit=1)[0]
    return f"{name} = …"
