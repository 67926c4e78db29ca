"""Secrets never leave the process: every text bound for a terminal, log, result or the
history database passes through a Redactor first."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

REDACTED = "[REDACTED]"
# Names that hold credentials by convention; matched as substrings, case-insensitively.
_SECRET_NAME_RE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
ALWAYS_SECRET = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
# Anthropic keys have a recognisable shape even when no variable holds them.
_KEY_SHAPE_RE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{4,}")
# Shorter values ("1", "true", "dev") would blank out ordinary words everywhere.
MIN_SECRET_LEN = 6
# Each line of a multi-line secret (a PEM key) is a secret of its own, as the console
# writes one line at a time; shorter lines ("-----", "==") are too common to blank out.
MIN_SECRET_LINE_LEN = 8


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of variables whose names look secret, longest first (so overlaps redact whole)."""
    values = {form for name, value in environ.items() if is_secret_name(name) for form in _secret_forms(value)}
    return sorted(values, key=len, reverse=True)


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret (MY_API_KEY, CI_JOB_TOKEN, …)."""
    return name in ALWAYS_SECRET or bool(_SECRET_NAME_RE.search(name))


def _secret_forms(value: str) -> Iterator[str]:
    """The value as it is, without surrounding whitespace, and each of its long lines."""
    yield from (form for form in (value, value.strip()) if len(form) >= MIN_SECRET_LEN)
    lines = [line.strip() for line in value.splitlines()]
    if len(lines) > 1:
        yield from (line for line in lines if len(line) >= MIN_SECRET_LINE_LEN)


class Redactor:
    """Replaces secret values and key-shaped strings with [REDACTED]."""

    def __init__(self, secrets: list[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._pattern = re.compile("|".join([*(re.escape(s) for s in ordered), _KEY_SHAPE_RE.pattern]))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        return cls(secret_values(os.environ if environ is None else environ))

    def text(self, value: str) -> str:
        return self._pattern.sub(REDACTED, value)

    def texts(self, parts: Sequence[str]) -> list[str]:
        """Consecutive parts of one text (content blocks), redacted as the whole text is:
        a secret split between two parts is replaced in each part that holds a piece of it."""
        whole = "".join(parts)
        spans = [match.span() for match in self._pattern.finditer(whole)]
        redacted: list[str] = []
        start = 0
        for part in parts:
            end = start + len(part)
            pieces, position = [], start
            for first, last in spans:
                if first < end and last > start:
                    pieces += [whole[position : max(first, start)], REDACTED]
                    position = min(last, end)
            redacted.append("".join([*pieces, whole[position:end]]))
            start = end
        return redacted

    def message(self, message: Mapping[str, Any]) -> Any:
        """A copy of a Messages API message, its text blocks redacted as the one text they form."""
        blocks = message.get("content")
        if not isinstance(blocks, list):
            return self.data(message)
        redacted = iter(self.texts([block["text"] for block in blocks if _is_text_block(block)]))
        content = [{**block, "text": next(redacted)} if _is_text_block(block) else block for block in blocks]
        return self.data({**message, "content": content})

    def data(self, value: Any) -> Any:
        """A copy of a JSON-like structure with every string (keys included) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value


def _is_text_block(block: object) -> bool:
    return isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)
