"""The launcher's promises: status tells the truth, up is idempotent, failures name the culprit."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ground_truth import SERVICES
from tests.support.polling import eventually
from tradetrace.platform import Platform
from tradetrace.stack import Stack, StackError
from tradetrace.stack.components import Redis
from tradetrace.stack.ports import free_port
from tradetrace.stack.process import Launch, running_pid

CLI = [sys.executable, "-m", "tradetrace.cli", "stack"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300)


def _rows(output: str) -> dict[str, dict]:
    return {row["component"]: row for row in json.loads(output)}


def test_status_lists_every_component_with_port_pid_and_health(stack: Stack) -> None:
    result = _cli("status", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _rows(result.stdout)
    for component in stack.components:
        row = rows[component.name]
        assert row["port"] == component.port
        assert row["pid"] == running_pid(component.pid_path)
        assert row["state"] == "healthy" and row["log"] == str(component.log_path)


def test_killed_component_shows_in_status_and_up_restarts_only_it(stack: Stack,
                                                                  platform: Platform) -> None:
    try:
        _kill_redis_and_bring_it_back(stack)
    finally:
        _session_services_alive(platform)


def _session_services_alive(platform: Platform) -> None:
    """Leave the session's services as found. Celery reconnects to a restarted Redis, but
    kombu sometimes fails in its own reconnect (AttributeError in `_connparams`) and the
    worker exits: start what died (nothing supervises native services)."""
    def alive() -> bool:
        platform.up(SERVICES)
        return all(s.alive for s in platform.status() if s.name in SERVICES)

    eventually(alive, "the session's services alive after Redis came back", timeout=90)


def _kill_redis_and_bring_it_back(stack: Stack) -> None:
    redis = next(c for c in stack.components if c.name == "redis")
    others = {c.name: running_pid(c.pid_path) for c in stack.components if c.name != "redis"}
    os.kill(running_pid(redis.pid_path), signal.SIGKILL)

    result = _cli("status", "--json")
    assert result.returncode == 1
    assert (_rows(result.stdout)["redis"]["pid"], _rows(result.stdout)["redis"]["state"]) == (
        None, "stopped")

    result = _cli("up")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "redis: healthy after" in result.stdout
    others_now = {c.name: running_pid(c.pid_path) for c in stack.components if c.name != "redis"}
    assert others_now == others
    assert redis.healthy()


class _RedisOnPort(Redis):
    """A Redis on a port of its own, so the failure tests never touch the real stack."""

    startup_timeout = 3.0

    def __init__(self, state: Path, port: int, extra: list[str]) -> None:
        super().__init__(state)
        self._port, self._extra = port, extra

    def ports(self) -> list[int]:
        return [self._port]

    def launch(self) -> Launch:
        return Launch(["redis-server", "--port", str(self._port), "--bind", "127.0.0.1",
                       "--dir", str(self.data_dir), *self._extra])


def test_component_that_exits_at_start_fails_with_its_name_and_log(tmp_path: Path,
                                                                    stack: Stack) -> None:
    broken = Stack([_RedisOnPort(tmp_path, free_port(), ["--no-such-directive", "1"])])
    with pytest.raises(StackError) as failure:
        broken.up()
    assert "redis exited during start-up" in str(failure.value)
    assert "no-such-directive" in str(failure.value)  # the tail of redis' own log


def test_component_that_never_gets_healthy_times_out_with_its_name(tmp_path: Path,
                                                                   stack: Stack) -> None:
    port = free_port()
    # Listens on another port than the one probed: alive, but never healthy.
    never = _RedisOnPort(tmp_path, port, [])
    never.healthy = lambda: False  # type: ignore[method-assign]
    with pytest.raises(StackError, match=r"redis not healthy after 3s"):
        Stack([never]).up()
    Stack([never]).down()
    assert running_pid(never.pid_path) is None


def test_port_taken_by_a_stranger_is_refused(tmp_path: Path, stack: Stack) -> None:
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        taken = stranger.getsockname()[1]
        with pytest.raises(StackError, match=rf"redis: port\(s\) \[{taken}\] .* taken"):
            Stack([_RedisOnPort(tmp_path, taken, [])]).up()
