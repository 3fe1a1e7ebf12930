"""A local HTTP endpoint standing in for CloudWatch Logs' OTLP endpoint (/v1/logs; AWS cannot
be reached from here). It keeps every log record the collector's exporter sent, with the
request's log group and whether it was signed (SigV4)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from email.message import Message

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from tests.support.stand_in import StandIn


@dataclass(frozen=True)
class Received:
    log_group: str | None
    signed: bool
    service: str
    trace_id: str
    body: str
    attributes: dict[str, str]


class CloudWatchLogsApi(StandIn):
    paths = ("/v1/logs",)

    def __init__(self) -> None:
        self.records: list[Received] = []
        super().__init__()
        self.url = self.base_url + self.paths[0]

    def answer(self, path: str, headers: Message, body: bytes) -> tuple[str, bytes]:
        if headers.get("Content-Encoding") == "gzip":      # the exporter's default
            body = gzip.decompress(body)
        request = ExportLogsServiceRequest.FromString(body)
        log_group = headers.get("x-aws-log-group")
        signed = headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")
        for resource_logs in request.resource_logs:
            service = next((a.value.string_value for a in resource_logs.resource.attributes
                            if a.key == "service.name"), "")
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    self.records.append(Received(
                        log_group, signed, service, record.trace_id.hex(),
                        record.body.string_value,
                        {a.key: a.value.string_value for a in record.attributes}))
        return "application/x-protobuf", ExportLogsServiceResponse().SerializeToString()

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.records)
