"""Daily closing prices for the golden-cross generator.

No market data can be downloaded here and none is shipped, so the series is a seeded
geometric random walk per ticker (the seed is derived from the ticker, so every run and
every machine sees the same prices): the crossover maths is the real thing, the prices not.
"""

from __future__ import annotations

import hashlib
import math
import random


def random_walk(ticker: str, days: int = 1000, start: float = 100.0,
                daily_drift: float = 0.0003, daily_volatility: float = 0.018) -> list[float]:
    seed = int(hashlib.sha256(ticker.encode()).hexdigest()[:16], 16)
    rng = random.Random(seed)
    prices = [start]
    for _ in range(days - 1):
        prices.append(prices[-1] * math.exp(rng.gauss(daily_drift, daily_volatility)))
    return [round(p, 4) for p in prices]
