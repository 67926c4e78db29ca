"""The price table: model ids find their family; costs add up per token kind."""

from __future__ import annotations

import pytest

from bassi_ci.agent.loop import Usage
from bassi_ci.agent.pricing import FALLBACK, PRICES, Price, cost_usd, price_for


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-opus-4-5", "claude-opus-4-5"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
        ("claude-opus-4-1-20250805", "claude-opus-4"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-opus-5-5", "claude-opus-5-5"),
        ("claude-opus-5", "claude-opus-5"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4"),
        ("claude-sonnet-4-6", "claude-sonnet-4"),
        ("claude-sonnet-5-5", "claude-sonnet-5-5"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("claude-haiku-5-5", "claude-haiku-5-5"),
        ("claude-fable-5-2", "claude-fable-5-2"),
        ("claude-mythos-preview", "claude-mythos"),
        ("anthropic.claude-opus-4-5-20251101-v1:0", "claude-opus-4-5"),
        ("claude-opus-4-5@20251101", "claude-opus-4-5"),
        ("CLAUDE-SONNET-5-5", "claude-sonnet-5-5"),
    ],
)
def test_model_ids_find_their_family(model: str, family: str) -> None:
    assert price_for(model) == PRICES[family]


@pytest.mark.parametrize("model", ["gpt-5", "claude-opus-45", "claude-unknown-9", ""])
def test_unknown_models_get_the_fallback(model: str) -> None:
    assert price_for(model) == FALLBACK


def test_fallback_is_the_most_expensive_entry() -> None:
    for price in PRICES.values():
        assert price.input <= FALLBACK.input and price.output <= FALLBACK.output
        assert price.cache_write <= FALLBACK.cache_write and price.cache_read <= FALLBACK.cache_read


def test_published_prices() -> None:
    # Spot checks against the pricing page (USD per million tokens).
    assert PRICES["claude-opus-4-5"] == Price(5.0, 25.0, 6.25, 0.50)
    assert PRICES["claude-sonnet-4"] == Price(3.0, 15.0, 3.75, 0.30)
    assert PRICES["claude-haiku-4-5"] == Price(1.0, 5.0, 1.25, 0.10)
    assert PRICES["claude-opus-5-5"] == Price(4.0, 20.0, 5.0, 0.20)


def test_cost_counts_each_kind_of_token() -> None:
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=100_000,
        cache_creation_input_tokens=200_000,
        cache_read_input_tokens=2_000_000,
    )
    # opus 4.5: 5 + 2.5 + 1.25 + 1.0
    assert cost_usd("claude-opus-4-5", usage) == pytest.approx(9.75)
    assert cost_usd("claude-opus-4-5", Usage()) == 0.0


def test_usage_add_and_as_dict() -> None:
    usage = Usage()
    usage.add({"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": None, "other": 9})
    usage.add(Usage(1, 1, 1, 1))
    assert usage.as_dict() == {
        "input_tokens": 4,
        "output_tokens": 5,
        "cache_creation_input_tokens": 1,
        "cache_read_input_tokens": 1,
    }
