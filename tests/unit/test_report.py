"""A long step is never silent: progress with elapsed time and the log's last line."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from rich.console import Console

from tests.support.polling import eventually
from tradetrace.stack.report import Reporter, RichReporter, last_line


class Recorder(Reporter):
    def __init__(self) -> None:
        super().__init__(interval=0.05)
        self.lines: list[str] = []

    def event(self, text: str) -> None:
        self.lines.append(text)


def test_a_step_with_a_log_reports_its_progress_until_it_ends(tmp_path: Path) -> None:
    log = tmp_path / "install.log"
    log.write_text("go: downloading a\n\ngo: downloading b\n")
    reporter, release = Recorder(), threading.Event()

    def build() -> None:
        with reporter.step("collector: install", log):
            release.wait(10)

    worker = threading.Thread(target=build)
    worker.start()
    eventually(lambda: len(reporter.lines) >= 3, "two progress lines", timeout=10, interval=0.05)
    release.set()
    worker.join()
    first, progress, last = reporter.lines[0], reporter.lines[1], reporter.lines[-1]
    assert first == "collector: install ..."
    assert "so far" in progress and str(log) in progress
    assert progress.endswith("go: downloading b")
    assert last.startswith("collector: install: ") and last.endswith("s")
    assert sum("so far" in line for line in reporter.lines) == len(reporter.lines) - 2


def test_a_step_without_a_log_says_only_start_and_end() -> None:
    reporter = Recorder()
    with reporter.step("stack up"):
        pass
    assert reporter.lines[0] == "stack up ..." and reporter.lines[1].startswith("stack up: ")
    assert len(reporter.lines) == 2


def test_last_line_reads_the_tail_of_a_large_log(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_text("x" * 100_000 + "\nthe end\n\n")
    assert last_line(log) == "the end"
    assert last_line(tmp_path / "missing.log") == ""


def test_the_terminal_reporter_nests_a_build_inside_stack_up(tmp_path: Path) -> None:
    out = io.StringIO()
    reporter = RichReporter(Console(file=out, force_terminal=True, width=120))
    log = tmp_path / "install.log"
    log.write_text("building [something]\n")
    with reporter.step("stack up"), reporter.step("jaeger: install", log):
        pass
    text = out.getvalue()
    assert "jaeger: install" in text and "stack up" in text
