"""The explorer's reads of Prometheus' HTTP API: ranges for charts, instants for tables, and
exemplars (a span's trace id kept beside a histogram bucket) for the latency charts' points."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import httpx


class PrometheusAway(Exception):
    """Prometheus did not answer, or refused a query: the page says so."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]]          # (unix seconds, value), NaN left out


@dataclass(frozen=True)
class Exemplar:
    at: float
    value: float
    trace_id: str


def label(value: str) -> str:
    """A label value as a PromQL string: a JSON string is one (quotes, backslashes escaped)."""
    return json.dumps(value)


class Prometheus:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.http = httpx.Client(base_url=url, timeout=timeout)

    def _get(self, path: str, params: dict[str, str | float]) -> list[dict]:
        try:
            response = self.http.get(path, params=params)
        except httpx.HTTPError as error:
            raise PrometheusAway(f"Prometheus is not reachable at {self.http.base_url}: "
                                 f"{error.__class__.__name__}") from None
        body = response.json() if response.headers.get("content-type", "").startswith(
            "application/json") else {}
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusAway(f"Prometheus refused {params.get('query')!r}: "
                                 f"{body.get('error', response.status_code)}")
        return body["data"] if path.endswith("exemplars") else body["data"]["result"]

    def range(self, query: str, start: float, end: float, step: float) -> list[Series]:
        return [Series(r["metric"], [(float(t), float(v)) for t, v in r["values"]
                                     if v not in ("NaN", "+Inf", "-Inf")])
                for r in self._get("/api/v1/query_range", {
                    "query": query, "start": start, "end": end, "step": step})]

    def instant(self, query: str, at: float) -> list[tuple[dict[str, str], float]]:
        return [(r["metric"], float(r["value"][1]))
                for r in self._get("/api/v1/query", {"query": query, "time": at})]

    def exemplars(self, query: str, start: float, end: float) -> list[Exemplar]:
        found = []
        for series in self._get("/api/v1/query_exemplars",
                                {"query": query, "start": start, "end": end}):
            for exemplar in series.get("exemplars", []):
                trace_id = exemplar.get("labels", {}).get("trace_id")
                if trace_id:
                    found.append(Exemplar(float(exemplar["timestamp"]),
                                          float(exemplar["value"]), trace_id))
        return found


@lru_cache
def prometheus(url: str) -> Prometheus:
    """One client per process (a new one builds an SSL context and a pool)."""
    return Prometheus(url)
