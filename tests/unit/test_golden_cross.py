"""The 50/200 crossover detector on series whose crossings are known."""

from __future__ import annotations

import pytest

from services.signal_generator.golden_cross import crossovers, moving_averages
from services.signal_generator.prices import random_walk


def test_moving_average_is_none_until_the_window_fills() -> None:
    assert moving_averages([1, 2, 3, 4, 5], 3) == [None, None, 2.0, 3.0, 4.0]


def test_flat_then_rising_series_gives_one_golden_cross() -> None:
    prices = [100.0] * 250 + [100.0 + i for i in range(1, 101)]
    found = crossovers(prices)
    assert [(c.index, c.direction) for c in found] == [(250, "buy")]
    assert found[0].fast > found[0].slow


def test_rise_then_fall_gives_golden_then_death_cross() -> None:
    prices = [100.0] * 200 + [100.0 + i for i in range(100)] + [199.0 - 2 * i for i in range(150)]
    directions = [c.direction for c in crossovers(prices)]
    assert directions == ["buy", "sell"]


def test_a_series_shorter_than_the_slow_window_has_no_cross() -> None:
    assert crossovers([float(i) for i in range(199)]) == []


def test_strength_is_bounded() -> None:
    prices = [100.0] * 250 + [100.0 * 1.5 ** i for i in range(1, 30)]
    assert all(0.0 <= c.strength <= 1.0 for c in crossovers(prices))


def test_fast_window_must_be_shorter() -> None:
    with pytest.raises(ValueError):
        crossovers([1.0] * 300, fast=200, slow=50)


def test_seeded_walk_is_reproducible_and_has_crossings() -> None:
    assert random_walk("AAPL") == random_walk("AAPL")
    assert random_walk("AAPL") != random_walk("MSFT")
    assert crossovers(random_walk("AAPL"))  # the golden-cross generator has signals to emit
