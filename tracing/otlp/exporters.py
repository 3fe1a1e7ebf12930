"""The stock OTLP span and log exporters (gRPC and HTTP/protobuf), sending our wire-written
requests.

Each is a subclass that changes only how the request's bytes are made, so the stock exporter's
retry and backoff, timeouts, headers, TLS, compression, `OTEL_EXPORTER_OTLP_*` configuration
and its own export metrics all stay:
- gRPC: `_translate_data` returns the bytes, and the channel's stub sends them as they are
  (a unary call with no serializer); `_initialize_channel_and_stub` is where the stock mixin
  makes its stub, also when it reconnects after UNAVAILABLE.
- HTTP: the stock `export` calls its module's encoder inline, so `export` is restated
  (`_export_http`) with our encoder in its place; the transport (`self._client`) retries.

This reads SDK internals (those two methods and the `_client`, `_metrics`, `_shutdown` and
`_max_request_size` fields, and in the encoder the spans' and attributes' fields), so it is
used only with the SDK and exporter versions it was tested against (`TESTED_WITH`); with any
other, `usable()` logs once and the stock exporters are used.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

import grpc
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http._common import (
    RequestPayloadTooLargeError,
    _is_request_too_large,
)
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.semconv.attributes.http_attributes import HTTP_RESPONSE_STATUS_CODE

from tracing.otlp.logs import encode_logs_request
from tracing.otlp.spans import encode_spans_request

log = logging.getLogger(__name__)

# The packages whose internals this module and the encoder read, at the versions tested.
TESTED_WITH = {
    "opentelemetry-sdk": "1.45.1",
    "opentelemetry-exporter-otlp-proto-grpc": "1.45.1",
    "opentelemetry-exporter-otlp-proto-http": "1.45.1",
}

_TRACES_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_LOGS_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


def _installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


@cache
def usable() -> bool:
    """Whether the installed SDK is the one the wire exporters were tested against; if not,
    says so once."""
    differ = {name: _installed(name) for name, tested in TESTED_WITH.items()
              if _installed(name) != tested}
    if differ:
        log.warning("OTLP wire encoder tested with %s, installed %s: using the stock encoder",
                    TESTED_WITH, differ)
    return not differ


class _RawExport:
    """A stub whose `Export` sends a serialized request as it is and ignores the response's
    content (an Export response carries only partial-success counts, which the stock
    exporters do not read either)."""

    def __init__(self, channel: grpc.Channel, method: str) -> None:
        self.Export = channel.unary_unary(method)


class _SendsRawBytes:
    """Makes the stock gRPC exporter's stub one that sends our bytes (also on a reconnect)."""

    _method: str
    _channel: grpc.Channel
    _client: Any

    def _initialize_channel_and_stub(self) -> None:
        super()._initialize_channel_and_stub()  # type: ignore[misc]
        self._client = _RawExport(self._channel, self._method)


class GrpcWireSpanExporter(_SendsRawBytes, GrpcSpanExporter):
    _method = _TRACES_METHOD

    def _translate_data(self, data: Sequence[ReadableSpan]) -> Any:
        return encode_spans_request(data)


class GrpcWireLogExporter(_SendsRawBytes, GrpcLogExporter):
    _method = _LOGS_METHOD

    def _translate_data(self, data: Sequence[ReadableLogRecord]) -> Any:
        return encode_logs_request(data)


Result = TypeVar("Result", SpanExportResult, LogRecordExportResult)


def _export_http(exporter: Any, batch: Sequence[Any], encode: Callable[[Sequence[Any]], bytes],
                 results: type[Result], what: str) -> Result:
    """The stock HTTP exporters' `export` (SDK 1.45.1), with our encoder."""
    if exporter._shutdown:
        log.warning("Exporter already shutdown, ignoring batch")
        return results.FAILURE
    with exporter._metrics.export_operation(len(batch)) as result:
        try:
            serialized = encode(batch)
        except Exception as error:  # noqa: BLE001 - as the stock exporter
            log.error("Failed to encode %s batch: %s", what, error)
            result.error = error
            return results.FAILURE
        if _is_request_too_large(serialized, exporter._max_request_size):
            log.warning("Dropping %s batch: serialized size %d bytes exceeds max_request_size "
                        "%d bytes.", what, len(serialized), exporter._max_request_size)
            result.error = RequestPayloadTooLargeError(
                f"Serialized {what} request size {len(serialized)} bytes exceeds "
                f"max_request_size {exporter._max_request_size} bytes.")
            return results.FAILURE
        sent = exporter._client.export(serialized)
        if not sent.success:
            result.error = sent.error
            result.error_attrs = ({HTTP_RESPONSE_STATUS_CODE: sent.status_code}
                                  if sent.status_code is not None else None)
            return results.FAILURE
    return results.SUCCESS


class HttpWireSpanExporter(HttpSpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return _export_http(self, spans, encode_spans_request, SpanExportResult, "span")


class HttpWireLogExporter(HttpLogExporter):
    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        return _export_http(self, batch, encode_logs_request, LogRecordExportResult, "logs")
