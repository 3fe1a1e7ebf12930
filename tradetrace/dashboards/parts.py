"""The pieces every dashboard is built from: its variables, the label filters they become in a
query, and panels with our defaults (the datasource variable, a unit, exemplars on latency).

Each filter is written once here, so a variable means the same thing on every dashboard. A
dashboard takes only the variables whose label its metrics carry: a selector no query reads
would look like a filter and change nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import barchart, prometheus
from grafana_foundation_sdk.builders import dashboard as grafana
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    DataTransformerConfig,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

# Every panel reads the datasource the `datasource` variable picks: the stack's Prometheus, or
# Amazon Managed Prometheus where Grafana has it (both are of Grafana's "prometheus" type).
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
DEFAULT_DATASOURCE_UID = "prometheus"        # grafana/provisioning/datasources' Prometheus

# "All" is a regex that also matches a series without the label.
ALL = ".*"

# The label filters the variables become. Derived metrics name a service by their `job`
# ("<service.namespace>/<service.name>"), the span_metrics and service graph by service_name.
SERVICE = 'service_name=~"$service"'
SERVICE_JOB = 'job=~".*/$service"'
PIPELINE = 'pipeline_id=~"$pipeline"'
TICKER = 'ticker=~"$ticker"'

# The selected pipelines' finished runs: the mean time in each hop from their origin.
_MEAN_PER_HOP = (f"sum by (hop) (rate(execution_hop_seconds_total{{{PIPELINE}}}[5m])) / scalar("
                 f"sum(rate(executions_timed_from_origin_total{{{PIPELINE}}}[5m])))")
HOPS = ("in_kafka: generation to the dispatcher's consume (the producer, the broker, consumer "
        "lag); dispatch: the dispatcher's match and insert; in_queue: the task queue and the "
        "worker's pickup; retries: earlier attempts and their backoff; claim: the worker "
        "claiming the row; agents: the agents, to the recorded finish (services/shared/"
        "latency.py).")

LATENCY_UNITS = {"s", "ms"}


def datasource_variable() -> grafana.DatasourceVariable:
    return (grafana.DatasourceVariable("datasource").label("Datasource").type("prometheus")
            .current(VariableOption(text="Prometheus", value=DEFAULT_DATASOURCE_UID)))


def _label_variable(name: str, label: str, values_from: str) -> grafana.QueryVariable:
    query = f"label_values({values_from})"
    return (grafana.QueryVariable(name).label(label).datasource(DATASOURCE)
            .query({"query": query, "refId": name})
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC)
            .multi(True).include_all(True).all_value(ALL)
            .current(VariableOption(text="All", value="$__all")))


def service_variable() -> grafana.QueryVariable:
    return _label_variable("service", "Service", "traces_span_metrics_calls_total, service_name")


def pipeline_variable() -> grafana.QueryVariable:
    return _label_variable("pipeline", "Pipeline", "pipeline_executions_total, pipeline_id")


def ticker_variable() -> grafana.QueryVariable:
    # The only derived metric with a ticker: the dispatcher's matches, where a ticker no
    # pipeline watches is folded into "other" (collector/spanmetrics.yaml), so it stays bounded.
    return _label_variable("ticker", "Ticker", "pipelines_matched_total, ticker")


def dashboard(uid: str, title: str, description: str,
              variables: Sequence[Builder[Any]] = (), time_from: str = "now-1h"
              ) -> grafana.Dashboard:
    """A dashboard with the datasource variable first, then `variables`."""
    built = (grafana.Dashboard(title).uid(f"tradetrace-{uid}").description(description)
             .tags(["tradetrace"]).editable().refresh("30s").time(time_from, "now")
             .timezone("utc").with_variable(datasource_variable()))
    for variable in variables:
        built = built.with_variable(variable)
    return built


def query(expr: str, legend: str | None = None, *, exemplar: bool = False,
          instant: bool = False, table: bool = False, heatmap: bool = False
          ) -> prometheus.Dataquery:
    target = prometheus.Dataquery().expr(expr).datasource(DATASOURCE).exemplar(exemplar)
    if legend is not None:
        target = target.legend_format(legend)
    if instant:
        target = target.instant()
    if table:
        target = target.format(PromQueryFormat.TABLE)
    if heatmap:
        target = target.format(PromQueryFormat.HEATMAP)
    return target


def panel(kind: Any, title: str, unit: str, width: int, height: int,
          targets: Sequence[prometheus.Dataquery], description: str | None = None
          ) -> Builder[Any]:
    """A panel of `kind` (a panel builder of the SDK: they share their common methods, not a
    base class that has them) with its queries lettered A, B, ...; a latency panel's
    histogram queries ask for exemplars, so a point opens its trace in Jaeger."""
    built = kind.title(title).datasource(DATASOURCE).unit(unit).span(width).height(height)
    if description:
        built = built.description(description)
    for index, target in enumerate(targets):
        if unit in LATENCY_UNITS and "_bucket" in target.build().expr:
            target = target.exemplar(True)
        built = built.with_target(target.ref_id(chr(ord("A") + index)))
    return built


def bar_chart() -> barchart.Panel:
    """A bar per series, its last value (a reduce of each series to a row): for instant
    queries by a label."""
    return barchart.Panel().with_transformation(DataTransformerConfig(
        id_val="reduce", options={"mode": "seriesToRows", "reducers": ["lastNotNull"]}))


def hop_means_panel(title: str, width: int, more: str = "") -> Builder[Any]:
    """The selected pipelines' mean time in each hop from their origin, as bars."""
    return panel(bar_chart(), title, "s", width, 8, [query(_MEAN_PER_HOP, "{{hop}}",
                                                           instant=True)],
                 f"Mean per finished run. {HOPS}{more}")


def merge() -> DataTransformerConfig:
    """Instant queries in table format joined on their labels: one row per series."""
    return DataTransformerConfig(id_val="merge", options={})


def columns(names: dict[str, str]) -> DataTransformerConfig:
    """The merged table's value columns renamed ("Value #A" -> `names["A"]`), its time hidden."""
    return DataTransformerConfig(id_val="organize", options={
        "excludeByName": {"Time": True},
        "renameByName": {f"Value #{ref}": name for ref, name in names.items()}})
