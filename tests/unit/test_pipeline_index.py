"""The dispatcher's ticker index."""

from __future__ import annotations

from services.trigger_dispatcher.index import PipelineIndex, PipelineRef


def test_match_returns_every_pipeline_watching_the_ticker_in_id_order() -> None:
    index = PipelineIndex.build([(3, "c", ["AAPL"]), (1, "a", ["AAPL", "MSFT"]), (2, "b", ["NVDA"])])
    assert index.match("AAPL") == (PipelineRef(1, "a"), PipelineRef(3, "c"))
    assert index.match("MSFT") == (PipelineRef(1, "a"),)
    assert index.match("TSLA") == ()
    assert index.pipeline_count == 3
    assert len(index) == 3


def test_a_ticker_listed_twice_matches_its_pipeline_once() -> None:
    assert PipelineIndex.build([(1, "a", ["AAPL", "AAPL"])]).match("AAPL") == (PipelineRef(1, "a"),)


def test_lookup_is_a_dict_access_whatever_the_size() -> None:
    big = PipelineIndex.build((i, f"p{i}", [f"T{i % 1000}"]) for i in range(20000))
    assert len(big.match("T7")) == 20
    assert isinstance(big._by_ticker, dict)  # O(1): no scan of the pipelines per signal


def test_size_grows_with_the_index() -> None:
    small = PipelineIndex.build([(1, "a", ["AAPL"])])
    big = PipelineIndex.build((i, f"p{i}", [f"T{i}"]) for i in range(1000))
    assert 0 < PipelineIndex().size_bytes() < small.size_bytes() < big.size_bytes()
