"""The RED view: rate, errors and duration per service and per span name, from the recording
rules (prometheus/rules/recording.yml), with exemplars on the latency chart; the pipelines'
cost per hour; the service graph.

Without a span name, a service's rate and errors count all its spans and its latency is that
of its entry spans (requests served, messages consumed): the rules' `service_duration_ms`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.backend.explorer import service_graph
from services.backend.explorer.charts import Chart, line_chart
from services.backend.explorer.prometheus import Prometheus, Series, label

WINDOWS = {"15m": 900, "1h": 3600, "6h": 6 * 3600, "24h": 24 * 3600}
POINTS = 120                     # per chart line, whatever the window
QUANTILES = ("p50", "p95", "p99")
ENTRY_KINDS = "SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"


@dataclass
class SpanRow:
    name: str
    per_second: float
    error_ratio: float | None
    latency_ms: dict[str, float | None]


@dataclass
class RedView:
    window: str
    services: list[str]
    service: str | None
    span: str | None
    charts: list[Chart] = field(default_factory=list)
    spans: list[SpanRow] = field(default_factory=list)
    cost: Chart | None = None
    graph: service_graph.Picture | None = None


def build(prometheus: Prometheus, service: str | None, span: str | None, window: str,
          now: float) -> RedView:
    seconds = WINDOWS.get(window, WINDOWS["1h"])
    start, step = now - seconds, max(seconds / POINTS, 5.0)
    services = sorted({labels.get("service_name", "") for labels, _ in prometheus.instant(
        f"count by (service_name) (last_over_time(tradetrace:span_calls:rate5m[{window}]))",
        now)} - {""})
    chosen = service if service in services else (services[0] if services else None)
    view = RedView(window, services, chosen, span if chosen else None)
    if chosen:
        view.charts = _charts(prometheus, chosen, view.span, start, now, step)
        view.spans = _span_rows(prometheus, chosen, now)
    cost = prometheus.range("tradetrace:pipeline_cost_usd:per_hour", start, now, step)
    view.cost = line_chart("Pipeline cost", "USD/h", [("cost", s) for s in cost], start, now)
    view.graph = service_graph.layout([
        service_graph.Edge(labels.get("client", "?"), labels.get("server", "?"),
                           labels.get("connection_type", ""), value)
        for labels, value in prometheus.instant(
            "sum by (client, server, connection_type) "
            f"(rate(traces_service_graph_request_total[{window}])) > 0", now)])
    return view


def _charts(prometheus: Prometheus, service: str, span: str | None, start: float, end: float,
            step: float) -> list[Chart]:
    where = f"service_name={label(service)}" + (f", span_name={label(span)}" if span else "")
    calls = f"sum(tradetrace:span_calls:rate5m{{{where}}})"
    errors = f"sum(tradetrace:span_errors:rate5m{{{where}}})"
    rule = "span_duration_ms" if span else "service_duration_ms"
    latency = [(q, prometheus.range(f"max(tradetrace:{rule}:{q}_5m{{{where}}})", start, end,
                                    step)) for q in QUANTILES]
    buckets = (f"traces_span_metrics_duration_milliseconds_bucket{{{where}"
               + ("" if span else f", span_kind=~{label(ENTRY_KINDS)}") + "}")
    return [
        line_chart("Rate", "spans/s", _named("rate", prometheus.range(calls, start, end, step)),
                   start, end),
        line_chart("Error ratio", "of spans", _named("errors", prometheus.range(
            f"({errors} or {calls} * 0) / {calls}", start, end, step)), start, end),
        line_chart("Latency", "ms", [(q, s) for q, found in latency for s in found[:1]],
                   start, end, prometheus.exemplars(buckets, start, end)),
    ]


def _named(name: str, series: list[Series]) -> list[tuple[str, Series]]:
    return [(name, s) for s in series[:1]]


def _span_rows(prometheus: Prometheus, service: str, now: float) -> list[SpanRow]:
    where = f"service_name={label(service)}"

    def by_span(query: str) -> dict[str, float]:
        return {labels.get("span_name", ""): value
                for labels, value in prometheus.instant(query, now) if value == value}  # NaN

    calls = by_span(f"sum by (span_name) (tradetrace:span_calls:rate5m{{{where}}})")
    errors = by_span(f"sum by (span_name) (tradetrace:span_errors:rate5m{{{where}}})")
    latency = {q: by_span(f"max by (span_name) (tradetrace:span_duration_ms:{q}_5m{{{where}}})")
               for q in QUANTILES}
    return [SpanRow(name, rate, errors.get(name, 0.0) / rate if rate else None,
                    {q: latency[q].get(name) for q in QUANTILES})
            for name, rate in sorted(calls.items(), key=lambda item: -item[1]) if rate > 0]
