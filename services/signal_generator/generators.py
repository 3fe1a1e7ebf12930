"""The two signal generators: an endless stream of signals each."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence

from services.shared.signals import Signal
from services.signal_generator.golden_cross import crossovers
from services.signal_generator.prices import random_walk

SOURCE_MOCK = "mock-generator"
SOURCE_GOLDEN_CROSS = "sma-50-200"


def mock_signals(tickers: Sequence[str], seed: int | None = None) -> Iterator[Signal]:
    """Random tickers and directions, for load and demos."""
    rng = random.Random(seed)
    while True:
        yield Signal(signal_type="mock", source=SOURCE_MOCK, ticker=rng.choice(tickers),
                     direction=rng.choice(("buy", "sell")), strength=round(rng.random(), 3))


def golden_cross_signals(tickers: Sequence[str]) -> Iterator[Signal]:
    """The crossovers found in each ticker's price series, replayed in turn, for ever."""
    found = [(ticker, cross) for ticker in tickers for cross in crossovers(random_walk(ticker))]
    if not found:
        raise ValueError(f"no crossovers in the price series of {list(tickers)}")
    for ticker, cross in itertools.cycle(found):
        yield Signal(signal_type="golden_cross", source=SOURCE_GOLDEN_CROSS, ticker=ticker,
                     direction=cross.direction, strength=round(cross.strength, 3))


def signals(kind: str, tickers: Sequence[str], seed: int | None = None) -> Iterator[Signal]:
    if kind == "mock":
        return mock_signals(tickers, seed)
    if kind == "golden_cross":
        return golden_cross_signals(tickers)
    raise ValueError(f"unknown generator {kind!r}: use mock or golden_cross")
