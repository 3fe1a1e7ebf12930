"""A local HTTP endpoint standing in for the AWS X-Ray API (AWS cannot be reached from here).

It answers PutTraceSegments (POST /TraceSegments) as X-Ray does and keeps every segment
document the collector's awsxray exporter sent, parsed.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class XRayApi:
    def __init__(self) -> None:
        self.segments: list[dict] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                documents = [json.loads(d) for d in body.get("TraceSegmentDocuments", [])]
                with api._lock:
                    api.segments.extend(documents)
                reply = json.dumps({"UnprocessedTraceSegments": []}).encode()
                self.send_response(200 if self.path == "/TraceSegments" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def received(self) -> list[dict]:
        with self._lock:
            return list(self.segments)

    def close(self) -> None:
        self._server.shutdown()
