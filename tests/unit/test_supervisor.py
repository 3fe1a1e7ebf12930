"""The native supervisor on real (tiny) processes: restarts, the crash-loop limit, stopping;
and the systemd units it stands in for, checked by `systemd-analyze verify`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.polling import eventually
from tradetrace.stack.process import running_pid
from tradetrace.supervisor import RestartPolicy, Supervisor, SupervisorState, exit_description
from tradetrace.systemd_units import systemd_analyze, units, write_units

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_service_failing_at_once_is_left_down_after_the_crash_loop_limit(
        tmp_path: Path) -> None:
    policy = RestartPolicy(backoff=0.01, min_uptime=30, crash_loop_limit=3)
    failing = [sys.executable, "-c", "import sys; sys.exit(3)"]

    assert Supervisor("failing", failing, tmp_path, policy).run() == 1

    state = SupervisorState.read(tmp_path)
    assert state is not None
    assert (state.gave_up, state.restarts, state.last_exit) == (True, 2, "exit 3")
    assert not (tmp_path / "failing.pid").exists()


def test_a_killed_service_is_started_again_and_stopping_the_supervisor_stops_it(
        tmp_path: Path) -> None:
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "tradetrace.supervisor", "--name", "sleeper", "--state",
         str(tmp_path), *RestartPolicy(backoff=0.05, min_uptime=0).argv(), "--", *SLEEPER],
        start_new_session=True)
    pid_file = tmp_path / "sleeper.pid"
    try:
        first = eventually(lambda: running_pid(pid_file), "the service started")
        os.kill(first, signal.SIGKILL)
        second = eventually(lambda: (pid := running_pid(pid_file)) != first and pid,
                            "the service started again", timeout=10)
        state = SupervisorState.read(tmp_path)
        assert state is not None
        assert (state.restarts, state.last_exit, state.gave_up) == (1, "signal SIGKILL", False)

        os.killpg(supervisor.pid, signal.SIGTERM)      # as `services down`: the group
        assert supervisor.wait(timeout=10) == 0
        eventually(lambda: not Path(f"/proc/{second}").exists(), "the service stopped")
        assert not pid_file.exists()
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
            supervisor.wait()


def test_a_run_that_lasted_resets_the_crash_count(tmp_path: Path) -> None:
    """Exits spaced by runs longer than min_uptime are not a crash loop: it is restarted each
    time, however many."""
    runs = tmp_path / "runs"
    script = (f"import pathlib, sys, time; p = pathlib.Path({str(runs)!r}); "
              "n = len(p.read_text()) if p.exists() else 0; p.write_text('x' * (n + 1)); "
              "time.sleep(0.3); sys.exit(9)")
    policy = RestartPolicy(backoff=0.01, min_uptime=0.2, crash_loop_limit=2)
    started = time.monotonic()
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "tradetrace.supervisor", "--name", "lasting", "--state",
         str(tmp_path), *policy.argv(), "--", sys.executable, "-c", script],
        start_new_session=True)
    try:
        eventually(lambda: runs.exists() and len(runs.read_text()) >= 6, "six runs")
    finally:
        os.killpg(supervisor.pid, signal.SIGTERM)
        supervisor.wait(timeout=10)
    state = SupervisorState.read(tmp_path)
    assert state is not None and not state.gave_up and state.restarts >= 5, (
        state, time.monotonic() - started)


def test_exits_are_said_in_an_operators_words() -> None:
    assert exit_description(0) == "exit 0"
    assert exit_description(1) == "exit 1"
    assert exit_description(-signal.SIGKILL) == "signal SIGKILL"


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    paths = write_units(tmp_path)
    result = subprocess.run([str(systemd_analyze()), "verify", *map(str, paths)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


def test_the_systemd_units_run_what_the_launcher_runs() -> None:
    written = units()
    worker = written["tradetrace-worker.service"]
    assert "--hostname=worker@%%h" in worker          # Celery's %h, not systemd's
    assert "Restart=on-failure" in worker and "StartLimitBurst=5" in worker
    beating = {"worker", "beat", "trigger-dispatcher", "signal-generator"}
    assert {name.removeprefix("tradetrace-").removesuffix("-watchdog.timer")
            for name in written if name.endswith("-watchdog.timer")} == beating
    assert "ExecStart=" in written["tradetrace-backend.service"]
