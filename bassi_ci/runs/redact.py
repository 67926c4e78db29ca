"""Secrets never leave the process: every text bound for a terminal, log, result or the
history database passes through a Redactor first.

A Redactor replaces each secret as it is and in base64 (standard and URL-safe alphabets).
The characters of a base64 text depend on the offset of each byte within the encoded data
(three alignments) and at both ends of a value also on its neighbours, so for every
alignment the characters that depend on the secret alone are replaced; so are the whole
encoding of the secret on its own (with and without padding, and of the secret plus a
newline, as `echo $SECRET | base64` prints it) and its lines when wrapped at 76 columns
(`base64`) or 64 (`openssl base64`). Out of reach: the one character at each end of a
value encoded inside a longer text that also holds bits of its neighbours (2 or 4 bits of
the value's first or last byte), a value encoded inside a longer text and then wrapped (the
line breaks fall inside it), and any other reshaping (split, reversed, hex, encoded twice,
compressed, ...).
"""

from __future__ import annotations

import base64
import functools
import itertools
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bassi_ci.envnames import ALWAYS_SECRET

REDACTED = "[REDACTED]"
# Names that hold credentials by convention; matched as substrings, case-insensitively.
_SECRET_NAME_RE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
# Anthropic keys have a recognisable shape even when no variable holds them.
_KEY_SHAPE_RE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{4,}")
# Shorter values ("1", "true", "dev") would blank out ordinary words everywhere.
MIN_SECRET_LEN = 6
# Each line of a multi-line secret (a PEM key) is a secret of its own, as the console
# writes one line at a time; shorter lines ("-----", "==") are too common to blank out.
MIN_SECRET_LINE_LEN = 8
# Shorter base64 pieces (the last line of a wrapped encoding, "Cg==") are not replaced; the
# shortest piece kept is that of a MIN_SECRET_LEN secret at another alignment (42 of its 48 bits).
MIN_ENCODED_LEN = 7
# Line widths of wrapped base64: coreutils `base64` (and MIME), `openssl base64` (and PEM).
BASE64_WRAP_WIDTHS = (76, 64)
_URL_SAFE = str.maketrans("+/", "-_")


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of variables whose names look secret, longest first (so overlaps redact whole)."""
    values = {form for name, value in environ.items() if is_secret_name(name) for form in _secret_forms(value)}
    return sorted(values, key=len, reverse=True)


def encoded_forms(secret: str) -> set[str]:
    """The base64 texts that give `secret` away (see the module's docstring), both alphabets."""
    raw = secret.encode("utf-8", "surrogateescape")
    forms: set[str] = set()
    for data in (raw, raw + b"\n"):  # `echo -n $SECRET | base64`, `echo $SECRET | base64`
        whole = base64.b64encode(data).decode("ascii")
        forms |= {whole, whole.rstrip("=")}
        for width in BASE64_WRAP_WIDTHS:
            if len(whole) > width:
                forms.update(whole[start : start + width] for start in range(0, len(whole), width))
    for shift in range(3):  # the secret at byte offset 0, 1 or 2 (mod 3) of longer encoded data
        encoded = base64.b64encode(bytes(shift) + raw).decode("ascii")
        # characters (6 bits each) that lie wholly within the secret's bits
        forms.add(encoded[-(-8 * shift // 6) : 8 * (shift + len(raw)) // 6])
    forms |= {form.translate(_URL_SAFE) for form in forms}
    return {form for form in forms if len(form) >= MIN_ENCODED_LEN}


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
        self._pattern = _compiled(
            frozenset(form for secret in secrets if secret for form in (secret, *encoded_forms(secret)))
        )

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


@functools.lru_cache(maxsize=8)
def _compiled(forms: frozenset[str]) -> re.Pattern[str]:
    """Any of `forms` (the longest one where several start at one place, so a secret that
    contains another is replaced whole), or a key-shaped string.

    The forms go in as a trie: `re` tries the branches of a flat alternation one after another
    at every position of the text, and a few long secrets bring hundreds of encoded forms.
    Should the trie nest too deep to build, a flat alternation, longest first, does the same
    more slowly.
    """
    if not forms:
        return _KEY_SHAPE_RE
    try:
        return re.compile(f"(?:{_trie(sorted(forms))})|{_KEY_SHAPE_RE.pattern}")
    except RecursionError:
        flat = (re.escape(form) for form in sorted(forms, key=len, reverse=True))
        return re.compile("|".join([*flat, _KEY_SHAPE_RE.pattern]))


def _trie(words: list[str]) -> str:
    """A pattern for sorted, distinct, non-empty words: their common prefix, then the rest
    grouped by first character; where a word ends inside a longer one, the longer goes first."""
    prefix = os.path.commonprefix([words[0], words[-1]])  # noqa: RUF071 (text, not paths: characters are meant)
    rest = [word[len(prefix) :] for word in words]
    ends_here = rest[0] == ""
    branches = [_trie(list(group)) for _, group in itertools.groupby(rest[ends_here:], key=lambda word: word[0])]
    if not branches:
        return re.escape(prefix)
    alternatives = "|".join(branches)
    return re.escape(prefix) + (f"(?:{alternatives})?" if ends_here else f"(?:{alternatives})")


def _is_text_block(block: object) -> bool:
    return isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)
