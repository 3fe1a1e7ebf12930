"""A trace as Jaeger holds it: its spans, children linked to their parents, and the log lines
written inside it; and the wait in a queue between a producer and its consumer.

`tradetrace trace` and the explorer's waterfall both read this model, so they tell the same
story.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trace_reader.logs import LogLine


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


def parse_trace(data: dict[str, Any]) -> Trace:
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


def queue_wait(parent: Span, child: Span) -> str | None:
    """How long a message waited between a producer and its consumer in another service."""
    if parent.kind != "producer" or child.kind != "consumer" or parent.service == child.service:
        return None
    queue = "Kafka" if parent.tags.get("messaging.system") == "kafka" else "the Celery queue"
    wait_ms = (child.start_us - parent.end_us) / 1000
    if wait_ms < 0:  # the consumer started before the producer's span ended (delivery report)
        wait_ms = (child.start_us - parent.start_us) / 1000
    return f"waited {wait_ms:.1f} ms in {queue}"
