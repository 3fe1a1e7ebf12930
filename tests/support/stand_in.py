"""A local HTTP endpoint standing in for a cloud API that cannot be reached from here: it
answers POSTs on a thread of its own, the subclass says with what (and keeps what it got)."""

from __future__ import annotations

import threading
from collections import Counter
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Refused(Exception):
    """Raised by `answer` to answer with an error, as the real API would (e.g. 401)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class BearerTokens:
    """The bearer tokens a cloud API stand-in accepts, and how many calls came with each.
    Not locked: the stand-in holds its own lock around it."""

    def __init__(self) -> None:
        self.valid: set[str] = set()
        self.seen: Counter[str] = Counter()

    def check(self, authorization: str) -> str | None:
        """The token of an `Authorization` value, counted, or None when it is not accepted."""
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or token not in self.valid:
            return None
        self.seen[token] += 1
        return token


class StandIn:
    paths: tuple[str, ...] = ("/",)     # what it answers; any other path (query aside) is a 404

    def __init__(self) -> None:
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                body = self.rfile.read(int(self.headers["Content-Length"]))
                path = self.path.split("?", 1)[0]
                if path not in stand_in.paths:
                    self.send_error(404)
                    return
                try:
                    with stand_in._lock:
                        content_type, reply = stand_in.answer(path, self.headers, body)
                except Refused as refused:
                    self.send_error(refused.status, str(refused))
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def answer(self, path: str, headers: Message, body: bytes) -> tuple[str, bytes]:
        """Keep what the request carried (under the lock); the reply's type and body."""
        raise NotImplementedError

    def close(self) -> None:
        self._server.shutdown()
