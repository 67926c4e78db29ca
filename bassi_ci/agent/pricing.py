"""What a run costs: USD per million tokens for each Claude model family, and cost_usd().

Source: the Claude pricing page and model pages
(https://platform.claude.com/docs/en/about-claude/pricing, .../models/<model>/overview),
read November 2026. Columns: base input, output, 5-minute cache write, cache read.
1-hour cache writes are not used by bassi (it only sets the default 5-minute TTL).

Notes:
- claude-haiku-5-5 is priced by prompt length; the table holds the lower band (prompts up
  to 100k tokens), which is what a scheduled task normally sends.
- claude-sonnet-5-5 cache reads were cut from $0.20 to $0.10 on 2026-10-07.
- An unknown model is priced at the highest price of each column (FALLBACK, today the
  Opus 4/4.1 prices), so a budget limit errs towards stopping early, never overspending.

A model id matches the longest entry that is a prefix of it at a word boundary, so dated
snapshots ("claude-sonnet-4-5-20250929"), Bedrock ids ("anthropic.claude-opus-4-5-...")
and Vertex ids ("claude-opus-4-5@20251101") find their family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


PRICES: dict[str, Price] = {
    "claude-fable-5-2": Price(8.0, 40.0, 10.0, 0.20),
    "claude-fable-5-1": Price(10.0, 50.0, 12.50, 0.25),
    "claude-mythos-5-1": Price(10.0, 50.0, 12.50, 0.25),
    "claude-fable-5": Price(10.0, 50.0, 12.50, 1.00),
    "claude-mythos": Price(10.0, 50.0, 12.50, 1.00),
    "claude-opus-5-5": Price(4.0, 20.0, 5.0, 0.20),
    "claude-opus-5": Price(5.0, 25.0, 6.25, 0.50),
    "claude-opus-4-8": Price(5.0, 25.0, 6.25, 0.50),
    "claude-opus-4-7": Price(5.0, 25.0, 6.25, 0.50),
    "claude-opus-4-6": Price(5.0, 25.0, 6.25, 0.50),
    "claude-opus-4-5": Price(5.0, 25.0, 6.25, 0.50),
    "claude-opus-4": Price(15.0, 75.0, 18.75, 1.50),  # 4.0 and 4.1
    "claude-sonnet-5-5": Price(2.0, 10.0, 2.50, 0.10),
    "claude-sonnet-5": Price(2.0, 10.0, 2.50, 0.20),
    "claude-sonnet-4": Price(3.0, 15.0, 3.75, 0.30),  # 4, 4.5, 4.6
    "claude-3-7-sonnet": Price(3.0, 15.0, 3.75, 0.30),
    "claude-haiku-5-5": Price(0.10, 0.50, 0.125, 0.01),
    "claude-haiku-4-5": Price(1.0, 5.0, 1.25, 0.10),
    "claude-3-5-haiku": Price(0.80, 4.0, 1.0, 0.08),
    "claude-3-haiku": Price(0.25, 1.25, 0.30, 0.03),
}

FALLBACK = Price(
    input=max(p.input for p in PRICES.values()),
    output=max(p.output for p in PRICES.values()),
    cache_write=max(p.cache_write for p in PRICES.values()),
    cache_read=max(p.cache_read for p in PRICES.values()),
)

_BOUNDARY = "-@[:."


class TokenCounts(Protocol):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


def price_for(model: str) -> Price:
    """The price of `model`'s family, or FALLBACK when the model is unknown."""
    name = model.lower()
    if "claude-" in name:
        name = name[name.index("claude-") :]
    best = ""
    for prefix in PRICES:
        if len(prefix) > len(best) and name.startswith(prefix):
            rest = name[len(prefix) :]
            if not rest or rest[0] in _BOUNDARY:
                best = prefix
    return PRICES[best] if best else FALLBACK


def cost_usd(model: str, usage: TokenCounts) -> float:
    """USD for `usage` on `model`: plain input, output, cache writes and cache reads."""
    price = price_for(model)
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_creation_input_tokens * price.cache_write
        + usage.cache_read_input_tokens * price.cache_read
    )
    return total / 1_000_000
