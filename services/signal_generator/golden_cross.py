"""The golden cross: the fast (50-period) moving average crossing the slow (200-period) one.

Crossing above is a golden cross (buy); crossing below is a death cross (sell).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

FAST, SLOW = 50, 200


@dataclass(frozen=True)
class Crossover:
    index: int                          # the day on which the fast average closed on the other side
    direction: Literal["buy", "sell"]
    fast: float
    slow: float

    @property
    def strength(self) -> float:
        """How decisively the averages crossed: their gap relative to the slow one, in [0, 1]."""
        return min(1.0, abs(self.fast - self.slow) / self.slow * 20)


def moving_averages(prices: Sequence[float], window: int) -> list[float | None]:
    """Simple moving average by a running sum; None until the window is full."""
    averages: list[float | None] = []
    total = 0.0
    for i, price in enumerate(prices):
        total += price
        if i >= window:
            total -= prices[i - window]
        averages.append(total / window if i >= window - 1 else None)
    return averages


def crossovers(prices: Sequence[float], fast: int = FAST, slow: int = SLOW) -> list[Crossover]:
    """Every day on which the fast average moves from one side of the slow one to the other."""
    if fast >= slow:
        raise ValueError("the fast window must be shorter than the slow one")
    fast_avg, slow_avg = moving_averages(prices, fast), moving_averages(prices, slow)
    found = []
    for day in range(slow, len(prices)):
        fast_then, slow_then = fast_avg[day - 1], slow_avg[day - 1]
        fast_now, slow_now = fast_avg[day], slow_avg[day]
        if fast_then is None or slow_then is None or fast_now is None or slow_now is None:
            continue   # a window not yet full (never from day `slow` on)
        before, after = fast_then - slow_then, fast_now - slow_now
        if before <= 0 < after:
            found.append(Crossover(day, "buy", fast_now, slow_now))
        elif before >= 0 > after:
            found.append(Crossover(day, "sell", fast_now, slow_now))
    return found
