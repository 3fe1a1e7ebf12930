"""Where a page's time went, as a Server-Timing header (the browser's dev tools and the
page-load tests read it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class ServerTiming:
    def __init__(self) -> None:
        self.parts: list[tuple[str, float]] = []

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.parts.append((name, (time.perf_counter() - started) * 1000))

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.1f}" for name, ms in self.parts)
