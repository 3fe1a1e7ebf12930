"""Asking the real Prometheus, as a dashboard panel or an alert would."""

from __future__ import annotations

import re

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


def exposed(url: str) -> list[str]:
    """The samples a /metrics endpoint exposes now, one line each (comments left out): what
    Prometheus would scrape, read before it does."""
    text = httpx.get(url, timeout=30).text
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def exposed_sum(samples: list[str] | str, name: str, **labels: str) -> float:
    """The sum of the samples of metric `name` carrying these label values (`samples`: the
    lines of `exposed`, or the endpoint's URL to read them from)."""
    lines = exposed(samples) if isinstance(samples, str) else samples
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines
               if re.match(rf"{re.escape(name)}[{{ ]", line)
               and all(label in line for label in wanted))
