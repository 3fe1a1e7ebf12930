"""Local endpoints standing in for Google Cloud (it cannot be reached from here).

- `GoogleCloudApis`: one TLS gRPC server answering Cloud Trace's BatchWriteSpans, Cloud
  Logging's WriteLogEntries and Cloud Monitoring's CreateTimeSeries (where Managed Service for
  Prometheus takes its samples), decoded with Google's own request types. Like the real APIs it
  refuses (UNAUTHENTICATED) a call without a bearer token it issued, and it keeps what each
  accepted call carried and which token came with it.
- `MetadataServer`: the GCE/GKE metadata server, which Application Default Credentials ask for
  an access token and the collector's gcp detector for the project, zone and instance. It
  answers only requests with `Metadata-Flavor: Google`, as the real one does.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import threading
from collections import Counter
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from google.cloud.logging_v2.types import WriteLogEntriesRequest
from google.cloud.monitoring_v3.types import CreateTimeSeriesRequest
from google.cloud.trace_v2.types import BatchWriteSpansRequest

from tests.support.stand_in import BearerTokens

PROJECT = "tradetrace-standin"
ZONE = "europe-west1-b"
INSTANCE_ID = "4520031799277581759"

TRACE_METHOD = "/google.devtools.cloudtrace.v2.TraceService/BatchWriteSpans"
LOGGING_METHOD = "/google.logging.v2.LoggingServiceV2/WriteLogEntries"
MONITORING_METHOD = "/google.monitoring.v3.MetricService/CreateTimeSeries"
CUMULATIVE = 3      # google.api.MetricDescriptor.MetricKind


def self_signed_certificate(directory: Path) -> tuple[Path, bytes, bytes]:
    """A certificate for 127.0.0.1 that is its own root: the file a client trusts, and the
    server's key and certificate in PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "google-cloud-standin")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    certificate_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    trusted = directory / "standin-ca.pem"
    trusted.write_bytes(certificate_pem)
    return trusted, key_pem, certificate_pem


@dataclass(frozen=True)
class Span:
    token: str
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    attributes: dict[str, str]
    dropped_attributes: int


@dataclass(frozen=True)
class LogEntry:
    token: str
    trace: str          # projects/<project>/traces/<trace id>, what Cloud Logging links
    span_id: str
    log_name: str
    resource_type: str
    labels: dict[str, str]
    payload: dict


@dataclass(frozen=True)
class Point:
    token: str
    project: str
    metric_type: str
    labels: dict[str, str]
    resource_type: str
    resource_labels: dict[str, str]
    value: float


def _attribute(value) -> str:
    kind = value.WhichOneof("value")
    return value.string_value.value if kind == "string_value" else str(getattr(value, kind))


class GoogleCloudApis:
    def __init__(self, key_pem: bytes, certificate_pem: bytes) -> None:
        self._lock = threading.Lock()
        self.tokens = BearerTokens()
        self.spans: list[Span] = []
        self.entries: list[LogEntry] = []
        self.points: list[Point] = []
        self.refused: list[str] = []
        self.bytes_received: Counter[str] = Counter()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self._server.add_generic_rpc_handlers([self._handlers()])
        port = self._server.add_secure_port(
            "127.0.0.1:0", grpc.ssl_server_credentials([(key_pem, certificate_pem)]))
        self.address = f"127.0.0.1:{port}"
        self._server.start()

    def accept(self, token: str) -> None:
        with self._lock:
            self.tokens.valid.add(token)

    def _handlers(self) -> grpc.GenericRpcHandler:
        methods = {TRACE_METHOD: (BatchWriteSpansRequest.pb(), self._keep_spans),
                   LOGGING_METHOD: (WriteLogEntriesRequest.pb(), self._keep_entries),
                   MONITORING_METHOD: (CreateTimeSeriesRequest.pb(), self._keep_points)}

        def invalid(request) -> str | None:
            """Cloud Monitoring's own rule, checked as it does: a cumulative point's interval
            must start before it ends."""
            for series in getattr(request, "time_series", ()):
                for point in series.points:
                    interval = point.interval
                    if series.metric_kind == CUMULATIVE and (
                            (interval.start_time.seconds, interval.start_time.nanos)
                            >= (interval.end_time.seconds, interval.end_time.nanos)):
                        return (f"{series.metric.type}: the start time of a cumulative point "
                                "must be earlier than its end time")
            return None

        def handler(method: str, request_type, keep):
            def call(request_bytes: bytes, context: grpc.ServicerContext) -> bytes:
                metadata = dict(context.invocation_metadata())
                with self._lock:
                    token = self.tokens.check(str(metadata.get("authorization", "")))
                    if token is None:
                        context.abort(grpc.StatusCode.UNAUTHENTICATED, "no valid bearer token")
                    self.bytes_received[method] += len(request_bytes)
                    request = request_type.FromString(request_bytes)
                    if problem := invalid(request):
                        self.refused.append(problem)
                        context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
                    keep(token, request)
                return b""          # Empty, and WriteLogEntriesResponse: both empty messages

            return grpc.unary_unary_rpc_method_handler(
                call, request_deserializer=lambda data: data,
                response_serializer=lambda data: data)

        handlers = {method: handler(method, *spec) for method, spec in methods.items()}

        class Generic(grpc.GenericRpcHandler):
            def service(self, handler_call_details):
                return handlers.get(handler_call_details.method)

        return Generic()

    def _keep_spans(self, token: str, request) -> None:
        for span in request.spans:
            trace_id = span.name.split("/traces/")[1].split("/")[0]
            attributes = span.attributes
            self.spans.append(Span(
                token, trace_id, span.span_id, span.parent_span_id, span.display_name.value,
                {k: _attribute(v) for k, v in attributes.attribute_map.items()},
                attributes.dropped_attributes_count))

    def _keep_entries(self, token: str, request) -> None:
        from google.protobuf.json_format import MessageToDict

        for entry in request.entries:
            self.entries.append(LogEntry(
                token, entry.trace, entry.span_id, entry.log_name or request.log_name,
                entry.resource.type or request.resource.type,
                {**request.labels, **entry.labels}, MessageToDict(entry.json_payload)))

    def _keep_points(self, token: str, request) -> None:
        for series in request.time_series:
            for point in series.points:
                kind = point.value.WhichOneof("value")
                value = (point.value.distribution_value.count if kind == "distribution_value"
                         else getattr(point.value, kind))
                self.points.append(Point(
                    token, request.name.removeprefix("projects/"), series.metric.type,
                    dict(series.metric.labels), series.resource.type,
                    dict(series.resource.labels), float(value)))

    def received_spans(self) -> list[Span]:
        with self._lock:
            return list(self.spans)

    def received_entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self.entries)

    def received_points(self) -> list[Point]:
        with self._lock:
            return list(self.points)

    def seen(self) -> Counter[str]:
        with self._lock:
            return Counter(self.tokens.seen)

    def close(self) -> None:
        self._server.stop(grace=None)


class MetadataServer:
    """GET only, as the real one; `token` is what it hands out from then on. Its tokens live
    `expires_in` seconds: below the 10 s before expiry at which Go's oauth2 renews a token, so
    the collector's credentials come back for one on every call."""

    def __init__(self, token: str, expires_in: int = 5) -> None:
        self.token, self.expires_in = token, expires_in
        self.tokens_issued: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server interface
                if self.headers.get("Metadata-Flavor") != "Google":
                    self.send_error(403, "Missing Metadata-Flavor: Google")
                    return
                answer = server.answer(self.path.split("?", 1)[0])
                if answer is None:
                    self.send_error(404)
                    return
                body = answer.encode()
                self.send_response(200)
                self.send_header("Metadata-Flavor", "Google")
                self.send_header("Content-Type", "application/text")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def answer(self, path: str) -> str | None:
        if path == "/computeMetadata/v1/instance/service-accounts/default/token":
            self.tokens_issued[self.token] += 1
            return json.dumps({"access_token": self.token, "expires_in": self.expires_in,
                               "token_type": "Bearer"})
        return {
            "/": "computeMetadata/\n",
            "/computeMetadata/v1/project/project-id": PROJECT,
            "/computeMetadata/v1/project/numeric-project-id": "123456789012",
            "/computeMetadata/v1/instance/zone": f"projects/123456789012/zones/{ZONE}",
            "/computeMetadata/v1/instance/id": INSTANCE_ID,
            "/computeMetadata/v1/instance/name": "tradetrace-collector",
            "/computeMetadata/v1/instance/hostname": "tradetrace-collector.c.internal",
            "/computeMetadata/v1/instance/machine-type":
                "projects/123456789012/machineTypes/e2-standard-2",
            "/computeMetadata/v1/instance/service-accounts/default/email":
                f"collector@{PROJECT}.iam.gserviceaccount.com",
            "/computeMetadata/v1/universe/universe-domain": "googleapis.com",
        }.get(path)

    def close(self) -> None:
        self._server.shutdown()
