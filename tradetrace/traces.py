"""Finding a signal's trace in Jaeger (HTTP API) and printing it as a tree.

Every span of a signal's trace carries `signal.id`, so a tag search on any service finds it.
Between a PRODUCER span and its CONSUMER child in another process lies a queue: the tree
shows the time spent waiting there (in Kafka, or in the Celery queue).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from tracing import span_names
from tradetrace.errors import PlatformError

# Where a signal's trace starts; others are searched too, in this order.
SEARCH_ORDER = ("signal-generator", "tradetrace-cli", "trigger-dispatcher", "worker")


@dataclass
class Span:
    span_id: str
    parent_id: str | None
    service: str
    name: str
    start_us: int
    duration_us: int
    tags: dict[str, object]
    children: list[Span] = field(default_factory=list)

    @property
    def end_us(self) -> int:
        return self.start_us + self.duration_us

    @property
    def kind(self) -> str:
        return str(self.tags.get("span.kind", "internal"))

    @property
    def label(self) -> str:
        """The span's name with what tells it apart from its siblings."""
        for key, shown in (("agent.name", "{}"), ("pipeline.id", "pipeline {}"),
                           ("pipelines.matched", "{} matched")):
            if key in self.tags:
                return f"{self.name} [{shown.format(self.tags[key])}]"
        return self.name

    @property
    def failed(self) -> bool:
        return self.tags.get("otel.status_code") == "ERROR" or self.tags.get("error") is True

    def as_dict(self) -> dict[str, object]:
        """The span without its children (they point back by parent_id), for `--json`."""
        return {"span_id": self.span_id, "parent_id": self.parent_id, "service": self.service,
                "name": self.name, "start_us": self.start_us, "duration_us": self.duration_us,
                "failed": self.failed, "tags": self.tags}


@dataclass(frozen=True)
class LogLine:
    """A service's log line written inside the trace (tracing/logs.py writes them as JSON)."""

    time: datetime
    service: str
    level: str
    message: str
    span_id: str | None
    trace_id: str | None

    def as_dict(self) -> dict[str, object]:
        return {"time": self.time.isoformat(), "service": self.service, "level": self.level,
                "message": self.message, "span_id": self.span_id}


def trace_logs(trace_id: str, log_files: Iterable[Path],
               tail_bytes: int | None = None) -> list[LogLine]:
    """The JSON log lines of these files that carry the trace id, in time order (lines that
    are not JSON, a traceback's continuation say, are passed over). With `tail_bytes`, only
    each file's last bytes are read: a page that must answer fast looks at recent lines."""
    found: list[LogLine | None] = []
    for path in log_files:
        try:
            with open(path, errors="replace") as lines:     # read as a stream: logs grow large
                if tail_bytes is not None and path.stat().st_size > tail_bytes:
                    lines.seek(path.stat().st_size - tail_bytes)
                    lines.readline()                         # the rest of a cut line
                found += [_log_line(line) for line in lines if trace_id in line]
        except OSError:
            continue
    return sorted((line for line in found if line is not None and line.trace_id == trace_id),
                  key=lambda line: line.time)


def _log_line(text: str) -> LogLine | None:
    try:
        record = json.loads(text)
        return LogLine(datetime.fromisoformat(record["time"]), str(record.get("service.name")),
                       str(record.get("level")), str(record.get("message")),
                       record.get("span_id"), record.get("trace_id"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


@dataclass
class Trace:
    trace_id: str
    spans: list[Span]
    logs: list[LogLine] = field(default_factory=list)

    @property
    def roots(self) -> list[Span]:
        ids = {s.span_id for s in self.spans}
        return sorted((s for s in self.spans if s.parent_id not in ids), key=lambda s: s.start_us)

    def named(self, name: str) -> list[Span]:
        return [s for s in self.spans if s.name == name]


def parse_trace(data: dict) -> Trace:
    """A trace from Jaeger's /api/traces JSON, with children linked to their parents."""
    processes = {pid: p["serviceName"] for pid, p in data["processes"].items()}
    spans = []
    for raw in data["spans"]:
        parent = next((r["spanID"] for r in raw.get("references", [])
                       if r["refType"] == "CHILD_OF"), None)
        spans.append(Span(raw["spanID"], parent, processes[raw["processID"]],
                          raw["operationName"], raw["startTime"], raw["duration"],
                          {t["key"]: t["value"] for t in raw.get("tags", [])}))
    by_id = {s.span_id: s for s in spans}
    for span in spans:
        if span.parent_id in by_id:
            by_id[span.parent_id].children.append(span)
    for span in spans:
        span.children.sort(key=lambda s: s.start_us)
    return Trace(data["traceID"], spans)


class Jaeger:
    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)

    def trace_ids_for_signal(self, signal_id: str, lookback: str = "24h") -> list[str]:
        try:
            services = set(self.http.get("/api/services").json()["data"] or [])
        except httpx.HTTPError as error:
            raise PlatformError(f"Jaeger is not reachable at {self.http.base_url}: "
                                f"{error}") from None
        ordered = [s for s in SEARCH_ORDER if s in services] + sorted(services - set(SEARCH_ORDER))
        for service in ordered:
            response = self.http.get("/api/traces", params={
                "service": service, "tags": json.dumps({"signal.id": signal_id}),
                "lookback": lookback, "limit": 20})
            found = [t["traceID"] for t in response.json().get("data") or []]
            if found:
                return sorted(set(found))
        return []

    def trace(self, trace_id: str) -> Trace:
        response = self.http.get(f"/api/traces/{trace_id}")
        if response.status_code != 200:
            raise PlatformError(f"trace {trace_id} not found in Jaeger ({response.status_code})")
        return parse_trace(response.json()["data"][0])

    def signal_trace(self, signal_id: str, executions: int | None = None,
                     timeout: float = 30.0) -> Trace:
        """The signal's trace once it is complete: all `executions` pipeline runs arrived and
        the span count has stopped growing (services export in batches, seconds apart)."""
        deadline = time.monotonic() + timeout
        previous = -1
        while True:
            ids = self.trace_ids_for_signal(signal_id)
            if ids:
                found = self.trace(ids[0])
                runs = len(found.named(span_names.PIPELINE_EXECUTE))
                enough = executions is None or runs >= executions
                if enough and len(found.spans) == previous:
                    return found
                previous = len(found.spans)
            if time.monotonic() > deadline:
                if ids:
                    return self.trace(ids[0])
                raise PlatformError(f"no trace for signal {signal_id} in Jaeger after "
                                    f"{timeout:.0f}s")
            time.sleep(1.5)


def queue_wait(parent: Span, child: Span) -> str | None:
    """How long a message waited between a producer and its consumer in another service."""
    if parent.kind != "producer" or child.kind != "consumer" or parent.service == child.service:
        return None
    queue = "Kafka" if parent.tags.get("messaging.system") == "kafka" else "the Celery queue"
    wait_ms = (child.start_us - parent.end_us) / 1000
    if wait_ms < 0:  # the consumer started before the producer's span ended (delivery report)
        wait_ms = (child.start_us - parent.start_us) / 1000
    return f"waited {wait_ms:.1f} ms in {queue}"


def render(trace: Trace) -> str:
    """The trace as an indented tree: start offset, duration, status, service and span."""
    start = min(s.start_us for s in trace.spans)
    end = max(s.end_us for s in trace.spans)
    services = sorted({s.service for s in trace.spans})
    lines = [f"trace {trace.trace_id}: {len(trace.spans)} spans, {len(services)} services "
             f"({', '.join(services)}), {(end - start) / 1000:.1f} ms",
             f"{'start':>10} {'duration':>10}  status  span"]

    by_span: dict[str | None, list[LogLine]] = {}
    for log in trace.logs:
        by_span.setdefault(log.span_id, []).append(log)

    def walk(span: Span, depth: int, parent: Span | None) -> None:
        wait = queue_wait(parent, span) if parent else None
        if wait:
            lines.append(f"{'':>10} {'':>10}  {'':6}  {'  ' * depth}~ {wait}")
        status = "ERROR" if span.failed else "ok"
        lines.append(f"{(span.start_us - start) / 1000:>8.1f}ms {span.duration_us / 1000:>8.1f}ms"
                     f"  {status:<6}  {'  ' * depth}{span.service}: {span.label}")
        for log in by_span.pop(span.span_id, []):
            at = log.time.timestamp() * 1e6 - start
            lines.append(f"{at / 1000:>8.1f}ms {'':>10}  {log.level.lower():<6}  "
                         f"{'  ' * (depth + 1)}| {log.service}: {log.message}")
        for child in span.children:
            walk(child, depth + 1, span)

    for root in trace.roots:
        walk(root, 0, None)
    for rest in by_span.values():        # written in spans Jaeger does not hold (yet)
        lines += [f"{'':>10} {'':>10}  {log.level.lower():<6}  | {log.service}: {log.message}"
                  for log in rest]
    return "\n".join(lines)
