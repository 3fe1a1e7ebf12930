"""Infrastructure: the database, Redis, the Celery queue, and the services' CPU and memory.

The queue depth and the HTTP requests in flight belong to one place each (the broker, the
backend), so the service variable does not filter them."""

from __future__ import annotations

from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard

from tradetrace.dashboards.parts import SERVICE_JOB, dashboard, panel, query, service_variable


def build() -> Dashboard:
    return dashboard(
        "infrastructure", "tradetrace / Infrastructure",
        "The database, Redis, the Celery queue, and the services' CPU and memory.",
        [service_variable()],
    ).with_panel(panel(
        timeseries.Panel(), "Database query duration (p95)", "s", 12, 8,
        [query("histogram_quantile(0.95, sum by (le, query_type) "
               f"(rate(db_query_duration_seconds_bucket{{{SERVICE_JOB}}}[5m])))",
               "{{query_type}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Redis operations / s", "ops", 12, 8,
        [query("sum by (command) "
               f"(rate(redis_command_duration_seconds_count{{{SERVICE_JOB}}}[5m]))",
               "{{command}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Celery queue depth", "short", 8, 8,
        [query("sum by (queue) (celery_queue_depth)", "{{queue}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Database connections", "short", 8, 8,
        [query(f"sum by (job) (db_active_connections{{{SERVICE_JOB}}})", "in use {{job}}"),
         query(f"sum by (job) (db_pool_size{{{SERVICE_JOB}}})", "pool {{job}}")],
    )).with_panel(panel(
        timeseries.Panel(), "HTTP requests in flight (backend)", "short", 8, 8,
        [query("sum by (method) (http_server_active_requests)", "{{method}}")],
    )).with_panel(panel(
        timeseries.Panel(), "CPU", "percentunit", 12, 8,
        [query(f"sum by (job) (rate(process_cpu_time_seconds_total{{{SERVICE_JOB}}}[5m]))",
               "{{job}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Memory (resident)", "bytes", 12, 8,
        [query(f"sum by (job) (process_memory_usage_bytes{{{SERVICE_JOB}}})", "{{job}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Log records by service and severity (OTLP)", "ops", 24, 8,
        [query(f"sum by (job, log_severity) (rate(log_records_total{{{SERVICE_JOB}}}[5m]))",
               "{{job}} {{log_severity}}")],
    ))
