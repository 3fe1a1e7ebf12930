"""Waiting for the stack to show something: bounded, and failing with what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(fetch: Callable[[], T | None], what: str, timeout: float = 30.0,
               interval: float = 0.5) -> T:
    """Call `fetch` until it returns something truthy; fail naming `what` and the last error."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = fetch()
            if result:
                return result
        except Exception as error:  # a backend still starting raises all sorts of things
            last_error = error
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                                 + (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(interval)
