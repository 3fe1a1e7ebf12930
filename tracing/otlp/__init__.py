"""OTLP requests written in the protobuf wire format directly, and the exporters that send them.

The stock encoder (opentelemetry-exporter-otlp-proto-common) builds a tree of protobuf objects
in Python for every span and log record and then serializes it: ~35 us per span here, most of
the export thread's CPU on a busy service. Writing the same bytes directly costs a few
microseconds (`../shared/reference/perf.md`). The bytes are the stock encoder's, to the byte:
tests/unit/test_otlp_wire.py proves it over generated spans and records.
"""

from tracing.otlp.logs import encode_logs_request
from tracing.otlp.spans import encode_spans_request

__all__ = ["encode_logs_request", "encode_spans_request"]
