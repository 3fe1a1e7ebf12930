"""Which pipelines watch a ticker: a dict built from the database, O(1) per signal."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from services.shared.db import Pipeline, TriggerMode, session_scope


@dataclass(frozen=True)
class PipelineRef:
    id: int
    name: str


class PipelineIndex:
    """Enabled signal-triggered pipelines by ticker. Rebuilt whole on refresh, never mutated,
    so a lookup never sees a half-updated index."""

    def __init__(self, by_ticker: dict[str, tuple[PipelineRef, ...]] | None = None,
                 as_of: datetime | None = None) -> None:
        self._by_ticker = by_ticker or {}
        self.as_of = as_of   # the database's time when read: every change committed before it is in


    @classmethod
    def build(cls, pipelines: Iterable[tuple[int, str, list[str]]],
              as_of: datetime | None = None) -> PipelineIndex:
        """From (id, name, tickers) rows, in pipeline id order."""
        by_ticker: dict[str, list[PipelineRef]] = defaultdict(list)
        for pipeline_id, name, tickers in sorted(pipelines):
            for ticker in dict.fromkeys(tickers):  # a ticker listed twice matches once
                by_ticker[ticker].append(PipelineRef(pipeline_id, name))
        return cls({ticker: tuple(refs) for ticker, refs in by_ticker.items()}, as_of)

    def match(self, ticker: str) -> tuple[PipelineRef, ...]:
        return self._by_ticker.get(ticker, ())

    @property
    def pipeline_count(self) -> int:
        return len({ref.id for refs in self._by_ticker.values() for ref in refs})

    def __len__(self) -> int:
        return len(self._by_ticker)

    def size_bytes(self) -> int:
        """An estimate of the memory held: the dict, its keys, and the tuples of references."""
        return sys.getsizeof(self._by_ticker) + sum(sys.getsizeof(k) + sys.getsizeof(v)
                                                    for k, v in self._by_ticker.items())


def load_index(database_url: str) -> PipelineIndex:
    """The index as the database holds it now. `as_of` is the transaction's start: the
    pipelines are read after it (read committed), so any change committed before it is in."""
    with session_scope(database_url) as session:
        as_of = session.execute(select(func.now())).scalar_one()
        rows = session.execute(select(Pipeline.id, Pipeline.name, Pipeline.tickers).where(
            Pipeline.enabled.is_(True), Pipeline.trigger_mode == TriggerMode.SIGNAL)).all()
    return PipelineIndex.build(((row.id, row.name, row.tickers) for row in rows), as_of)
