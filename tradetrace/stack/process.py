"""Starting and stopping the stack's processes, each recorded in a pid file.

`down` must stop exactly what `up` started, so a pid file is trusted only while the process
it names still runs the command we started (pids get reused).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Launch:
    """How to run one component: its argv, environment and the OS user it runs as."""

    argv: list[str]
    env: dict[str, str] | None = None
    cwd: Path | None = None
    user: str | None = None


# A log over this size is set aside (one generation) when its process starts again: servers run
# for days here and write to a file no one else rotates.
LOG_ROTATE_BYTES = 64 * 1024 * 1024


def start(launch: Launch, log_path: Path, pid_path: Path) -> int:
    """Start a process in its own session (so Ctrl-C on the caller leaves it alone)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    _set_aside_if_large(log_path)
    pid_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(launch.env or {})}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            launch.argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=launch.cwd,
            user=launch.user,
            group=launch.user,
            start_new_session=True,
        )
    pid_path.write_text(f"{proc.pid}\n{launch.argv[0]}\n")
    return proc.pid


def _set_aside_if_large(log_path: Path) -> None:
    try:
        if log_path.stat().st_size > LOG_ROTATE_BYTES:
            log_path.replace(log_path.with_name(log_path.name + ".1"))
    except FileNotFoundError:
        pass


def running_pid(pid_path: Path) -> int | None:
    """The pid in the file, if that process is alive and still runs the recorded program."""
    try:
        pid_text, program = pid_path.read_text().splitlines()[:2]
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return None
    if not _alive(pid):
        return None
    cmdline = _cmdline(pid)
    # Some servers rewrite their title ("redis-server 127.0.0.1:6379"): compare the name only.
    title = os.fsdecode(cmdline[0]).split(" ")[0] if cmdline else ""
    if Path(title).name != Path(program).name:
        return None
    return pid


def _cmdline(pid: int) -> list[bytes]:
    """The process's argv. Popen returns once the child's exec has closed its CLOEXEC pipe,
    which the kernel does before it sets up the new program's arguments: for that moment the
    command line reads empty. Wait it out (briefly) rather than take the process for another."""
    for _ in range(200):
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return []
        if raw:
            return raw.split(b"\0")
        time.sleep(0.001)
    return []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def stop(pid_path: Path, stop_signal: int = signal.SIGTERM, timeout: float = 20.0) -> bool:
    """Stop the recorded process group; escalate to SIGKILL after the timeout. True if it ran."""
    pid = running_pid(pid_path)
    if pid is None:
        pid_path.unlink(missing_ok=True)
        return False
    _signal_group(pid, stop_signal)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        _signal_group(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)
    pid_path.unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log, for error messages and `stack logs`."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:])
