"""Local endpoints standing in for Azure Monitor's ingestion (Azure cannot be reached from here).

Both refuse, as Azure Monitor does, a request without a bearer token it accepts (401), and keep
which token each accepted request carried, so a test sees the collector send a refreshed one.
- `AzureMonitorOtlp`: the OTLP/HTTP traces and logs endpoints of an Application Insights
  resource; it keeps every span and log record, and the bytes of each kind it received.
- `AzureMonitorRemoteWrite`: a workspace's Prometheus remote-write endpoint; it passes each
  accepted write on to a Prometheus of the test's own, where the test queries the series.
"""

from __future__ import annotations

import gzip
from collections import Counter
from dataclasses import dataclass
from email.message import Message

import httpx
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from tests.support.stand_in import BearerTokens, Refused, StandIn

TRACES_PATH, LOGS_PATH = "/v1/traces", "/v1/logs"
# The form of a workspace's ingestion path (docs/azure.md); the stand-in answers only this.
REMOTE_WRITE_PATH = ("/dataCollectionRules/dcr-standin/streams/Microsoft-PrometheusMetrics"
                     "/api/v1/write")


@dataclass(frozen=True)
class Span:
    token: str
    service: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class LogRecord:
    token: str
    service: str
    trace_id: str
    span_id: str
    body: str
    attributes: dict[str, str]


class _BearerChecked(StandIn):
    def __init__(self) -> None:
        self.tokens = BearerTokens()
        super().__init__()

    def accept(self, token: str) -> None:
        with self._lock:
            self.tokens.valid.add(token)

    def _token(self, headers: Message) -> str:
        token = self.tokens.check(headers.get("Authorization", ""))
        if token is None:
            raise Refused(401, "no valid bearer token")
        return token

    def seen(self) -> Counter[str]:
        with self._lock:
            return Counter(self.tokens.seen)


def _strings(attributes: list[KeyValue]) -> dict[str, str]:
    return {a.key: a.value.string_value or str(a.value.int_value) for a in attributes}


def _service(resource: Resource) -> str:
    return _strings(list(resource.attributes)).get("service.name", "")


class AzureMonitorOtlp(_BearerChecked):
    paths = (TRACES_PATH, LOGS_PATH)

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.records: list[LogRecord] = []
        self.bytes_received: Counter[str] = Counter()
        super().__init__()
        self.traces_url = self.base_url + TRACES_PATH
        self.logs_url = self.base_url + LOGS_PATH

    def answer(self, path: str, headers: Message, body: bytes) -> tuple[str, bytes]:
        token = self._token(headers)
        if headers.get("Content-Encoding") == "gzip":      # the exporter's default
            body = gzip.decompress(body)
        self.bytes_received[path] += len(body)
        if path == TRACES_PATH:
            self._keep_spans(token, ExportTraceServiceRequest.FromString(body))
            return "application/x-protobuf", ExportTraceServiceResponse().SerializeToString()
        self._keep_records(token, ExportLogsServiceRequest.FromString(body))
        return "application/x-protobuf", ExportLogsServiceResponse().SerializeToString()

    def _keep_spans(self, token: str, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            service = _service(resource_spans.resource)
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend(
                    Span(token, service, s.trace_id.hex(), s.span_id.hex(),
                         s.parent_span_id.hex(), s.name, _strings(list(s.attributes)))
                    for s in scope_spans.spans)

    def _keep_records(self, token: str, request: ExportLogsServiceRequest) -> None:
        for resource_logs in request.resource_logs:
            service = _service(resource_logs.resource)
            for scope_logs in resource_logs.scope_logs:
                self.records.extend(
                    LogRecord(token, service, r.trace_id.hex(), r.span_id.hex(),
                              r.body.string_value, _strings(list(r.attributes)))
                    for r in scope_logs.log_records)

    def received_spans(self) -> list[Span]:
        with self._lock:
            return list(self.spans)

    def received_records(self) -> list[LogRecord]:
        with self._lock:
            return list(self.records)


class AzureMonitorRemoteWrite(_BearerChecked):
    paths = (REMOTE_WRITE_PATH,)

    def __init__(self, receiver_url: str) -> None:
        self.receiver_url = receiver_url     # where the test queries what was written
        self.refusals: list[str] = []
        self._receiver = httpx.Client(base_url=receiver_url, timeout=10)
        super().__init__()
        self.url = self.base_url + REMOTE_WRITE_PATH + "?api-version=2023-04-24"

    def answer(self, path: str, headers: Message, body: bytes) -> tuple[str, bytes]:
        self._token(headers)
        passed_on = {name: value for name, value in headers.items()
                     if name.lower().startswith(("content-", "x-prometheus-"))
                     and name.lower() != "content-length"}
        reply = self._receiver.post("/api/v1/write", content=body, headers=passed_on)
        if reply.status_code >= 300:
            self.refusals.append(reply.text[:200])
            raise Refused(reply.status_code, reply.text[:200])
        return "text/plain", b""

    def close(self) -> None:
        super().close()
        self._receiver.close()
