"""Keeps one native service running: restarts it when it exits, and gives up on a crash loop.

Natively `services up` used to start each service once, so a worker that died (an OOM kill,
Celery's "Unrecoverable error" when Redis goes away under a task) left every later signal
waiting until someone noticed. Compose has `restart: unless-stopped`, systemd `Restart=`
(`tradetrace services systemd`); this is the same for the native profile, small enough to
read: `python -m tradetrace.supervisor --name NAME --state DIR -- ARGV...`.

The supervisor runs in its own session (`tradetrace.stack.process.start`) and the service in
the same process group, so `services down` stops both with one signal: on SIGTERM or SIGINT
the supervisor stops restarting and waits for the service to exit. It writes the service's pid
file (`<name>.pid`, what `Platform.pid` and the fault tests read) and its own state
(`supervisor.json`: restarts, last exit, whether it gave up) for `services status`, and says
each exit and restart as a JSON line in the service's log.

A run shorter than `min_uptime` counts as a crash; after `crash_loop_limit` crashes in a row
the supervisor leaves the service down and exits, and says so (a service that fails at once
on every start, a wrong setting say, would otherwise restart forever and hide it). Between
crashes it waits `backoff`, doubled each time up to `max_backoff`; a run that lasted resets
both.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

STATE_FILE = "supervisor.json"


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart, and when to give up."""

    backoff: float = 0.5            # seconds before the first restart after a crash
    max_backoff: float = 10.0
    min_uptime: float = 10.0        # a run shorter than this is a crash
    crash_loop_limit: int = 5       # crashes in a row, then the service stays down

    def argv(self) -> list[str]:
        return [f"--{name.replace('_', '-')}={value}" for name, value in asdict(self).items()]


@dataclass
class SupervisorState:
    """What `services status` shows of a supervised service."""

    restarts: int = 0
    last_exit: str | None = None    # "exit 1", "signal SIGKILL"
    last_exit_at: str | None = None
    gave_up: bool = False           # the crash-loop limit was reached: the service stays down

    @staticmethod
    def read(directory: Path) -> SupervisorState | None:
        try:
            return SupervisorState(**json.loads((directory / STATE_FILE).read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return None

    def write(self, directory: Path) -> None:
        temporary = directory / f".{STATE_FILE}.tmp"
        temporary.write_text(json.dumps(asdict(self)) + "\n")
        temporary.replace(directory / STATE_FILE)   # a reader never sees half a file


def exit_description(returncode: int) -> str:
    """`Popen.returncode` in an operator's words: "exit 1", "signal SIGKILL"."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit {returncode}"


class Supervisor:
    def __init__(self, name: str, argv: list[str], directory: Path,
                 policy: RestartPolicy) -> None:
        self.name, self.argv, self.directory, self.policy = name, argv, directory, policy
        self.pid_path = directory / f"{name}.pid"
        self.state = SupervisorState()
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None

    def run(self) -> int:
        """Run the service until asked to stop (`stop`: 0) or until it crash-loops (1)."""
        self.state.write(self.directory)
        try:
            return self._loop()
        finally:
            self.pid_path.unlink(missing_ok=True)

    def _loop(self) -> int:
        crashes, backoff = 0, self.policy.backoff
        while not self.stopping:
            started = time.monotonic()
            returncode = self._run_once()
            if self.stopping:
                break
            self.state.last_exit = exit_description(returncode)
            self.state.last_exit_at = datetime.now(UTC).isoformat()
            if time.monotonic() - started >= self.policy.min_uptime:
                crashes, backoff = 0, self.policy.backoff
            else:
                crashes += 1
            if crashes >= self.policy.crash_loop_limit:
                self.state.gave_up = True
                self.state.write(self.directory)
                self._say("ERROR", f"{self.name} left down: it exited {crashes} times in a "
                          f"row within {self.policy.min_uptime:g}s of starting (last: "
                          f"{self.state.last_exit}); `tradetrace services up` starts it again")
                return 1
            self.state.write(self.directory)
            self._say("WARNING", f"{self.name} exited ({self.state.last_exit}); restarting in "
                      f"{backoff:g}s")
            self._sleep(backoff)
            backoff = min(backoff * 2, self.policy.max_backoff)
            if not self.stopping:
                self.state.restarts += 1
                self.state.write(self.directory)
        return 0

    def _run_once(self) -> int:
        self.child = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL)
        self.pid_path.write_text(f"{self.child.pid}\n{self.argv[0]}\n")
        if self.stopping:       # asked to stop while it was being started: it missed the signal
            self.child.terminate()
        return self.child.wait()

    def stop(self, signum: int, _frame: FrameType | None = None) -> None:
        """Stop restarting (a signal handler): the service got the same signal from its
        process group, or gets it from here when it was sent to the supervisor alone."""
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            try:
                os.kill(self.child.pid, signum)
            except ProcessLookupError:
                pass

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.1, deadline - time.monotonic()))

    def _say(self, level: str, message: str) -> None:
        """A JSON line in the service's log, shaped as the services' own (tracing/logs.py)."""
        print(json.dumps({"time": datetime.now(UTC).isoformat(), "level": level,
                          "service.name": self.name, "logger": "tradetrace.supervisor",
                          "message": message}), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--state", required=True, type=Path, help="the service's directory")
    defaults = RestartPolicy()
    for field, value in asdict(defaults).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("the service's command goes after --")
    policy = RestartPolicy(**{field: getattr(args, field) for field in asdict(defaults)})
    supervisor = Supervisor(args.name, command, args.state, policy)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, supervisor.stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
