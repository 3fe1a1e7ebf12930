"""Finding a signal's trace in Jaeger (its HTTP query API).

Every span of a signal's trace carries `signal.id`, so a tag search on any service finds it.
"""

from __future__ import annotations

import json
import time

import httpx

from trace_reader.model import Trace, parse_trace
from tracing import span_names
from tracing.service_names import CLI, SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER

# Where a signal's trace starts; others are searched too, in this order.
SEARCH_ORDER = (SIGNAL_GENERATOR, CLI, TRIGGER_DISPATCHER, WORKER)


class TraceUnavailable(Exception):
    """Jaeger is away, or does not hold the trace asked for: the message says which."""


class Jaeger:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def trace_ids_for_signal(self, signal_id: str, lookback: str = "24h") -> list[str]:
        try:
            services = set(self.http.get("/api/services").json()["data"] or [])
        except httpx.HTTPError as error:
            raise TraceUnavailable(f"Jaeger is not reachable at {self.http.base_url}: "
                                f"{error}") from None
        ordered = [s for s in SEARCH_ORDER if s in services] + sorted(services - set(SEARCH_ORDER))
        for service in ordered:
            response = self.http.get("/api/traces", params={
                "service": service, "tags": json.dumps({"signal.id": signal_id}),
                "lookback": lookback, "limit": 20})
            found = [t["traceID"] for t in response.json().get("data") or []]
            if found:
                return sorted(set(found))
        return []

    def trace(self, trace_id: str) -> Trace:
        response = self.http.get(f"/api/traces/{trace_id}")
        if response.status_code != 200:
            raise TraceUnavailable(f"trace {trace_id} not found in Jaeger ({response.status_code})")
        return parse_trace(response.json()["data"][0])

    def signal_trace(self, signal_id: str, executions: int | None = None,
                     timeout: float = 30.0) -> Trace:
        """The signal's trace once it is complete: all `executions` pipeline runs arrived and
        the span count has stopped growing (services export in batches, seconds apart)."""
        deadline = time.monotonic() + timeout
        previous = -1
        while True:
            ids = self.trace_ids_for_signal(signal_id)
            if ids:
                found = self.trace(ids[0])
                runs = len(found.named(span_names.PIPELINE_EXECUTE))
                enough = executions is None or runs >= executions
                if enough and len(found.spans) == previous:
                    return found
                previous = len(found.spans)
            if time.monotonic() > deadline:
                if ids:
                    return self.trace(ids[0])
                raise TraceUnavailable(f"no trace for signal {signal_id} in Jaeger after "
                                    f"{timeout:.0f}s")
            time.sleep(1.5)
