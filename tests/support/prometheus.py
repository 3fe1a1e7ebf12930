"""Asking the real Prometheus, as a dashboard panel or an alert would."""

from __future__ import annotations

import httpx


def instant(prometheus: httpx.Client, query: str) -> list[dict]:
    """The result of an instant query; fails on a query Prometheus rejects."""
    body = prometheus.get("/api/v1/query", params={"query": query}).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def scalar(prometheus: httpx.Client, query: str) -> float | None:
    """The first series' value (use sum(...) for one number), None when there is no series."""
    result = instant(prometheus, query)
    return float(result[0]["value"][1]) if result else None
