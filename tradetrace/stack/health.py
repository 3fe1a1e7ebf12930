"""Health probes and bounded waits: every wait in the launcher ends, with a reason."""

from __future__ import annotations

import socket

import httpx


class StackError(RuntimeError):
    """A component failed to build, start or become healthy. The message names it."""


def tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False
