"""How the stack says what it does: a line per event, and a live word while a long step runs.

A cold `stack up` builds for many minutes; silence through it looks like a hang. While a step
that has a log runs (a build), the plain reporter prints a progress line every
`PROGRESS_SECONDS` with the elapsed time, the log's path and its last line, which works in CI
logs and pipes. On a terminal the CLI installs `RichReporter`: a spinner line redrawn a few
times a second with the same facts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.status import Status

PROGRESS_SECONDS = 5.0


def last_line(log: Path | None) -> str:
    """The last non-empty line of a log (its tail only: build logs grow large)."""
    if log is None:
        return ""
    try:
        with open(log, "rb") as handle:
            handle.seek(max(0, handle.seek(0, 2) - 4096))
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{seconds:.1f}s"


class Reporter:
    """Plain lines, `[stack] ...`, to stdout."""

    def __init__(self, interval: float = PROGRESS_SECONDS) -> None:
        self.interval = interval

    def event(self, text: str) -> None:
        print(f"[stack] {text}", flush=True)

    @contextmanager
    def step(self, name: str, log: Path | None = None) -> Iterator[None]:
        """Announce a step, report its progress while it runs, and its time once it is done."""
        started = time.monotonic()
        self.event(f"{name} ...")
        done = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(name, log, started, done),
                                   daemon=True) if log is not None else None
        if watcher is not None:
            watcher.start()
        try:
            yield
        finally:
            done.set()
            if watcher is not None:
                watcher.join()
        self.event(f"{name}: {time.monotonic() - started:.1f}s")

    def _watch(self, name: str, log: Path, started: float, done: threading.Event) -> None:
        while not done.wait(self.interval):
            self.progress(name, log, time.monotonic() - started)

    def progress(self, name: str, log: Path, seconds: float) -> None:
        self.event(f"{name}: {elapsed(seconds)} so far (log {log}) {last_line(log)[:120]}")


class RichReporter(Reporter):
    """A spinner with the step, its elapsed time, its log and the log's last line."""

    def __init__(self, console: Console) -> None:
        super().__init__(interval=0.5)
        self.console = console
        self._status: Status | None = None
        self._outer = ""

    def event(self, text: str) -> None:
        self.console.print(f"[dim]\\[stack][/dim] {escape(text)}", highlight=False)

    @contextmanager
    def step(self, name: str, log: Path | None = None) -> Iterator[None]:
        if self._status is not None:   # inside a step already shown (a build within `up`)
            with super().step(name, log):
                yield
            self._status.update(escape(self._outer))
            return
        with self.console.status(escape(name)) as status:
            self._status, self._outer = status, name
            try:
                with super().step(name, log):
                    yield
            finally:
                self._status = None

    def progress(self, name: str, log: Path, seconds: float) -> None:
        if self._status is not None:
            self._status.update(f"{escape(name)} [bold]{elapsed(seconds)}[/bold]  "
                                f"[dim]{escape(str(log))}[/dim]\n"
                                f"  [dim]{escape(last_line(log)[:150])}[/dim]")


_current: Reporter = Reporter()


def reporter() -> Reporter:
    return _current


def use(new: Reporter) -> None:
    """Report through `new` from now on (the CLI's choice for a terminal)."""
    global _current
    _current = new
