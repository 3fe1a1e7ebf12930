"""RED by service and span: rate, errors and duration of every span, derived by the
collector's span_metrics, and who calls whom (the service graph)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import table, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard

from tradetrace.dashboards.parts import (
    SERVICE,
    columns,
    dashboard,
    merge,
    panel,
    query,
    service_variable,
)

# An edge of the service graph is the service's when it is either end of it.
_EDGE_EITHER_END = ('rate({metric}{{client=~"$service"}}[5m]) '
                    'or rate({metric}{{server=~"$service"}}[5m])')


def _edges(metric: str) -> str:
    return _EDGE_EITHER_END.format(metric=metric)


def build() -> Dashboard:
    return dashboard(
        "red", "tradetrace / RED by service and span",
        "Rate, errors and duration of every span, derived by the collector's span_metrics; "
        "and who calls whom.",
        [service_variable()],
    ).with_panel(panel(
        timeseries.Panel(), "Rate by service", "ops", 8, 8,
        [query(f"sum by (service_name) (tradetrace:span_calls:rate5m{{{SERVICE}}})",
               "{{service_name}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Errors by service", "ops", 8, 8,
        [query(f"sum by (service_name) (tradetrace:span_errors:rate5m{{{SERVICE}}})",
               "{{service_name}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Duration p95 by service (exemplars open the trace)", "ms", 8, 8,
        [query("histogram_quantile(0.95, sum by (le, service_name) (rate("
               f"traces_span_metrics_duration_milliseconds_bucket{{{SERVICE}}}[5m])))",
               "{{service_name}}")],
    )).with_panel(panel(
        table.Panel().with_transformation(merge()).with_transformation(
            columns({"A": "rate /s", "B": "errors /s", "C": "p95 ms"})),
        "Spans: rate, errors, p95", "short", 24, 10,
        [query(f"sum by (service_name, span_name) (tradetrace:span_calls:rate5m{{{SERVICE}}})",
               instant=True, table=True),
         query("sum by (service_name, span_name) "
               f"(tradetrace:span_errors:rate5m{{{SERVICE}}})", instant=True, table=True),
         query("max by (service_name, span_name) "
               f"(tradetrace:span_duration_ms:p95_5m{{{SERVICE}}})", instant=True, table=True)],
    )).with_panel(panel(
        timeseries.Panel(), "Service graph: requests between services", "ops", 12, 8,
        [query("sum by (client, server, connection_type) "
               f"({_edges('traces_service_graph_request_total')})", "{{client}} -> {{server}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Service graph: p95 latency between services", "s", 12, 8,
        [query("histogram_quantile(0.95, sum by (le, client, server) "
               f"({_edges('traces_service_graph_request_server_seconds_bucket')}))",
               "{{client}} -> {{server}}")],
    ))
