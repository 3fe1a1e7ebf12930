"""A trace read from Jaeger for a page (or the CLI's diff): one client per process, and the
trace or why there is none (no trace id, not in Jaeger, Jaeger away), which the page shows in
its place."""

from __future__ import annotations

from functools import lru_cache

import httpx

from trace_reader.jaeger import Jaeger, TraceUnavailable
from trace_reader.model import Trace


@lru_cache
def jaeger(url: str) -> Jaeger:
    """One client per process: a new one builds an SSL context and a pool (~20 ms)."""
    return Jaeger(url, timeout=3.0)


def read_trace(jaeger_url: str, trace_id: str | None) -> tuple[Trace | None, str | None]:
    """The trace, or None and why not."""
    if trace_id is None:
        return None, "no execution of this signal carries a trace id"
    try:
        return jaeger(jaeger_url).trace(trace_id), None
    except TraceUnavailable as missing:
        return None, str(missing)
    except httpx.HTTPError as error:
        return None, f"Jaeger is not reachable at {jaeger_url}: {error.__class__.__name__}"
