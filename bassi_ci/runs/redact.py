"""Secrets never leave the process: every text bound for a terminal, log, result or the
history database passes through a Redactor first."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"
# Names that hold credentials by convention; matched as substrings, case-insensitively.
_SECRET_NAME_RE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_ALWAYS_SECRET = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
# Anthropic keys have a recognisable shape even when no variable holds them.
_KEY_SHAPE_RE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{4,}")
# Shorter values ("1", "true", "dev") would blank out ordinary words everywhere.
MIN_SECRET_LEN = 6


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of variables whose names look secret, longest first (so overlaps redact whole)."""
    values = {
        value
        for name, value in environ.items()
        if (name in _ALWAYS_SECRET or _SECRET_NAME_RE.search(name)) and len(value) >= MIN_SECRET_LEN
    }
    return sorted(values, key=len, reverse=True)


class Redactor:
    """Replaces secret values and key-shaped strings with [REDACTED]."""

    def __init__(self, secrets: list[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(set(secrets), key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        return cls(secret_values(os.environ if environ is None else environ))

    def text(self, value: str) -> str:
        if self._pattern is not None:
            value = self._pattern.sub(REDACTED, value)
        return _KEY_SHAPE_RE.sub(REDACTED, value)

    def data(self, value: Any) -> Any:
        """A copy of a JSON-like structure with every string (keys included) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value
