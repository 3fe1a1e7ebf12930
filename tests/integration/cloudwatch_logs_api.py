"""A local HTTP endpoint standing in for CloudWatch Logs' OTLP endpoint (/v1/logs; AWS cannot
be reached from here). It keeps every log record the collector's exporter sent, with the
request's log group and whether it was signed (SigV4)."""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)


@dataclass(frozen=True)
class Received:
    log_group: str | None
    signed: bool
    service: str
    trace_id: str
    body: str
    attributes: dict[str, str]


class CloudWatchLogsApi:
    def __init__(self) -> None:
        self.records: list[Received] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":     # the exporter's default
                    body = gzip.decompress(body)
                request = ExportLogsServiceRequest.FromString(body)
                signed = self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256")
                api._keep(request, self.headers.get("x-aws-log-group"), signed)
                reply = ExportLogsServiceResponse().SerializeToString()
                self.send_response(200 if self.path == "/v1/logs" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1/logs"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _keep(self, request: ExportLogsServiceRequest, log_group: str | None,
              signed: bool) -> None:
        found = []
        for resource_logs in request.resource_logs:
            service = next((a.value.string_value for a in resource_logs.resource.attributes
                            if a.key == "service.name"), "")
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    found.append(Received(
                        log_group, signed, service, record.trace_id.hex(),
                        record.body.string_value,
                        {a.key: a.value.string_value for a in record.attributes}))
        with self._lock:
            self.records.extend(found)

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.records)

    def close(self) -> None:
        self._server.shutdown()
