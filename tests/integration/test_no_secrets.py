"""No secret reaches the telemetry: not the API key a client sends, not the PostgreSQL and Redis
passwords every service connects with, not a password planted in a span (the collector masks
those as a second line).

The key travels in the session backend's requests (read and write routes, which touch the
database and Redis); afterwards Jaeger's spans of those requests, every label value Prometheus
holds and the services' log files are searched for the key and both passwords. Then a span
carrying a key, a bearer token and a password in a URL goes through the stack's collector:
Jaeger stores the values masked.
"""

from __future__ import annotations

import json
import secrets
import time

import httpx
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from services.shared.api_keys import KEY_PREFIX
from tests.support.platform import api_client
from tests.support.polling import eventually
from trace_reader.jaeger import Jaeger
from tracing.service_names import BACKEND
from tradetrace.platform import Platform
from tradetrace.stack.ports import HOST, port
from tradetrace.stack.secrets import stack_secret


def _label_values(prometheus: httpx.Client) -> str:
    labels = prometheus.get("/api/v1/labels").json()["data"]
    return json.dumps({label: prometheus.get(f"/api/v1/label/{label}/values").json()["data"]
                       for label in labels})


def test_the_api_key_and_the_stack_passwords_are_nowhere_in_the_telemetry(
        platform: Platform, prometheus: httpx.Client, traces: Jaeger, ticker: str) -> None:
    started = time.time()
    with api_client(platform) as client:
        key = client.headers["Authorization"].removeprefix("Bearer ")
        created = client.post("/pipelines", json={"name": f"secret-{ticker}",
                                                  "tickers": [ticker],
                                                  "agents": [{"name": "market_data"}]})
        assert created.status_code == 201
        client.get("/pipelines", params={"ticker": ticker}).raise_for_status()
        client.post(f"/pipelines/{created.json()['id']}/disable").raise_for_status()

    def backend_spans() -> str | None:
        found = traces.http.get("/api/traces", params={
            "service": BACKEND, "start": int(started * 1e6), "limit": 200}).json()["data"]
        text = json.dumps(found)
        return text if text.count("/disable") else None

    stored = eventually(backend_spans, "the backend's spans of those requests", timeout=30)
    labels = _label_values(prometheus)
    logs = {path: path.read_text(errors="replace") for path in platform.log_paths()
            if path.is_file()}
    assert "SELECT" in stored and logs                # the places searched hold something
    for secret in (key, key[len(KEY_PREFIX):], stack_secret("postgres"), stack_secret("redis")):
        assert secret not in stored
        assert secret not in labels
        assert not [path for path, text in logs.items() if secret in text]


def test_the_collector_masks_secrets_a_service_let_slip(traces: Jaeger) -> None:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    password = "pw-" + secrets.token_hex(8)
    planted = {"note": f"called with {key}", "http.request.header.authorization":
               "Bearer " + secrets.token_hex(16), "db.connection_string":
               f"postgresql://tradetrace:{password}@db.internal:5432/tradetrace"}
    service = f"leaky-{secrets.token_hex(4)}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
        endpoint=f"http://{HOST}:{port('collector')}", insecure=True)))
    with provider.get_tracer("tests").start_as_current_span("leaky", attributes=planted):
        pass
    provider.shutdown()

    def stored() -> str | None:
        found = traces.http.get("/api/traces", params={"service": service}).json()["data"]
        return json.dumps(found) if found else None

    text = eventually(stored, "the leaky span in Jaeger", timeout=30)
    assert "leaky" in text
    for value in (key, password, planted["http.request.header.authorization"]):
        assert value not in text
