"""The dispatcher's ticker index."""

from __future__ import annotations

from services.trigger_dispatcher.index import PipelineIndex, PipelineRef


def test_match_returns_every_pipeline_watching_the_ticker_in_id_order() -> None:
    index = PipelineIndex.build([(3, "c", ["AAPL"]), (1, "a", ["AAPL", "MSFT"]),
                                 (2, "b", ["NVDA"])])
    assert index.match("AAPL") == (PipelineRef(1, "a"), PipelineRef(3, "c"))
    assert index.match("MSFT") == (PipelineRef(1, "a"),)
    assert index.match("TSLA") == ()
    assert index.pipeline_count == 3
    assert len(index) == 3


def test_a_ticker_listed_twice_matches_its_pipeline_once() -> None:
    index = PipelineIndex.build([(1, "a", ["AAPL", "AAPL"])])
    assert index.match("AAPL") == (PipelineRef(1, "a"),)


class CountingTicker(str):
    """A ticker that counts the comparisons made with it: the index's cost, without a clock."""

    comparisons = 0

    def __eq__(self, other: object) -> bool:
        CountingTicker.comparisons += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def _comparisons_per_lookup(tickers: int, lookups: int = 200) -> float:
    index = PipelineIndex.build((i, f"p{i}", [CountingTicker(f"T{i}")]) for i in range(tickers))
    probes = [CountingTicker(f"T{(i * 7919) % tickers}") for i in range(lookups)]
    CountingTicker.comparisons = 0
    for probe in probes:
        assert len(index.match(probe)) == 1
    return CountingTicker.comparisons / lookups


def test_a_lookup_costs_the_same_for_10_or_100000_tickers() -> None:
    """A signal's match must not grow with the pipelines: a scan of the tickers would make
    100,000 comparisons per lookup, a hash lookup makes about one."""
    small, large = _comparisons_per_lookup(10), _comparisons_per_lookup(100_000)
    assert small <= 2 and large <= 2, (small, large)


def test_size_grows_with_the_index() -> None:
    small = PipelineIndex.build([(1, "a", ["AAPL"])])
    big = PipelineIndex.build((i, f"p{i}", [f"T{i}"]) for i in range(1000))
    assert 0 < PipelineIndex().size_bytes() < small.size_bytes() < big.size_bytes()
