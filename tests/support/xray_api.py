"""A local endpoint standing in for the AWS X-Ray API (AWS cannot be reached from here).

It answers PutTraceSegments (POST /TraceSegments) as X-Ray does and keeps every segment
document the collector's awsxray exporter sent, parsed.
"""

from __future__ import annotations

import json
from email.message import Message

from tests.support.stand_in import StandIn


class XRayApi(StandIn):
    paths = ("/TraceSegments",)

    def __init__(self) -> None:
        self.segments: list[dict] = []
        super().__init__()
        self.url = self.base_url

    def answer(self, path: str, headers: Message, body: bytes) -> tuple[str, bytes]:
        documents = json.loads(body).get("TraceSegmentDocuments", [])
        self.segments.extend(json.loads(d) for d in documents)
        return "application/json", json.dumps({"UnprocessedTraceSegments": []}).encode()

    def received(self) -> list[dict]:
        with self._lock:
            return list(self.segments)
