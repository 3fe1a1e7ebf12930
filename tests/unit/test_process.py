"""Pid files are trusted only while they name the program we started."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tradetrace.stack.health import StackError
from tradetrace.stack.process import Launch, running_pid, start, stop, tail
from tradetrace.stack.steps import run


def test_start_records_pid_and_stop_ends_the_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "sleep.pid"
    pid = start(Launch(["sleep", "30"]), tmp_path / "sleep.log", pid_file)
    assert running_pid(pid_file) == pid
    assert stop(pid_file, signal.SIGTERM, timeout=5)
    assert running_pid(pid_file) is None
    assert not pid_file.exists()
    assert not stop(pid_file)  # nothing left to stop


def test_pid_file_of_another_program_is_not_trusted(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    pid = start(Launch(["sleep", "30"]), tmp_path / "x.log", pid_file)
    try:
        pid_file.write_text(f"{pid}\nredis-server\n")  # as if the pid had been reused
        assert running_pid(pid_file) is None
        assert not stop(pid_file)
    finally:
        pid_file.write_text(f"{pid}\nsleep\n")
        stop(pid_file)


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    pid_file = tmp_path / "stubborn.pid"
    start(Launch(["sh", "-c", "trap '' TERM; sleep 30"]), tmp_path / "s.log", pid_file)
    time.sleep(0.3)  # let the shell install its trap before we signal it
    assert running_pid(pid_file) is not None
    assert stop(pid_file, timeout=0.5)
    assert running_pid(pid_file) is None


def test_failed_build_step_names_the_step_and_shows_its_output(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"(?s)jaeger: go build failed \(exit 3\).*no module"):
        run("jaeger: go build", ["sh", "-c", "echo 'no module here'; exit 3"],
            tmp_path / "install.log")


def test_tail_reads_only_the_end(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_text("".join(f"line {i}\n" for i in range(10000)))
    assert tail(log, 2) == "line 9998\nline 9999"
    assert tail(tmp_path / "missing.log") == "(no log yet)"


def test_a_large_log_is_set_aside_when_its_process_starts_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tradetrace.stack.process.LOG_ROTATE_BYTES", 10)
    log, pid_file = tmp_path / "echo.log", tmp_path / "echo.pid"
    log.write_text("an old run's lines\n")
    start(Launch(["echo", "new run"]), log, pid_file)
    deadline = time.monotonic() + 5
    while "new run" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.read_text() == "new run\n"
    assert (tmp_path / "echo.log.1").read_text() == "an old run's lines\n"

    start(Launch(["true"]), log, pid_file)     # under the size: appended to, not set aside
    assert (tmp_path / "echo.log.1").read_text() == "an old run's lines\n"
