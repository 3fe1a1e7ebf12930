"""Health probes and bounded waits: every wait in the launcher ends, with a reason."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

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


def poll_until(check: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Call `check` until it is true or the timeout passes; never raises on its own."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
