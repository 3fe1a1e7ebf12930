"""systemd units for the platform's services on a production host (`tradetrace services systemd`).

One `tradetrace-<service>.service` per service, as the native launcher runs it (the same
command, environment variables and state directory, `/var/lib/tradetrace/services/<service>`),
restarted on failure with the launcher's crash-loop limit (`StartLimitBurst` within
`StartLimitIntervalSec`); settings come from an environment file. A service that hangs without
exiting is not a failure to systemd: for each service that beats (all but the backend, whose
liveness is its `/ready` for a load balancer), a `-watchdog` timer restarts it when its
heartbeat is older than the age `services status` calls stuck. systemd's own `WatchdogSec`
would need `sd_notify` from inside each service (Celery's worker and beat are not ours); the
heartbeat file already is the services' liveness, so it is read from outside.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from services.shared.heartbeat import MAX_AGE_SECONDS
from tracing.service_names import BACKEND
from tradetrace.platform import Platform, Service
from tradetrace.stack.paths import REPO_ROOT, state_dir
from tradetrace.stack.steps import apt_install

SYSTEMD_ANALYZE = Path("/usr/bin/systemd-analyze")
STATE_ROOT = Path("/var/lib/tradetrace")        # systemd's StateDirectory= root is /var/lib
DEFAULT_ENV_FILE = Path("/etc/tradetrace/tradetrace.env")
WATCHDOG_PERIOD_SECONDS = 15


def units(env_file: Path = DEFAULT_ENV_FILE, user: str | None = None) -> dict[str, str]:
    """File name -> text of every unit."""
    platform = Platform(state=STATE_ROOT)
    policy = platform.restart_policy
    written: dict[str, str] = {}
    for service in platform.services():
        written[f"{unit_name(service.name)}.service"] = _service_unit(
            platform, service, env_file, user, policy.crash_loop_limit, policy.min_uptime)
        if service.name != BACKEND:
            written[f"{unit_name(service.name)}-watchdog.service"] = _watchdog_unit(
                platform, service)
            written[f"{unit_name(service.name)}-watchdog.timer"] = _watchdog_timer(service)
    return written


def unit_name(service: str) -> str:
    return f"tradetrace-{service}"


def _service_unit(platform: Platform, service: Service, env_file: Path, user: str | None,
                  limit: int, min_uptime: float) -> str:
    beat = platform.heartbeat_path(service.name)
    state = beat.parent.relative_to(STATE_ROOT.parent)
    lines = [
        "[Unit]",
        f"Description=tradetrace {service.name}",
        "After=network-online.target",
        "Wants=network-online.target",
        # The launcher's crash loop: this many quick failures in a row leave it down.
        f"StartLimitIntervalSec={int(limit * (min_uptime + 1))}",
        f"StartLimitBurst={limit}",
        "",
        "[Service]",
        "Type=simple",
        f"WorkingDirectory={REPO_ROOT}",
        f"EnvironmentFile={env_file}",
        f"Environment=TRADETRACE_HEARTBEAT_FILE={beat}",
        f"StateDirectory={state}",
        f"ExecStartPre=/bin/rm -f {beat}",     # ready, and watched, once this process beats
        f"ExecStart={_command(service.argv)}",
        "Restart=on-failure",
        "RestartSec=1",
        "TimeoutStopSec=30",     # as `services down`: then SIGKILL
        *([f"User={user}", f"Group={user}"] if user else []),
        "",
        "[Install]",
        "WantedBy=multi-user.target",
    ]
    return "\n".join(lines) + "\n"


def _watchdog_unit(platform: Platform, service: Service) -> str:
    beat = platform.heartbeat_path(service.name)
    name = unit_name(service.name)
    check = _command([service.argv[0], "-m", "services.shared.heartbeat", str(beat),
                      f"{MAX_AGE_SECONDS:g}"])
    restart = f"{check} || exec /bin/systemctl restart {name}.service"
    lines = [
        "[Unit]",
        f"Description=tradetrace {service.name}: restart it when its heartbeat is stale",
        f"ConditionPathExists={beat}",    # none until the service's first beat after a start
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={REPO_ROOT}",
        f"ExecCondition=/bin/systemctl is-active --quiet {name}.service",
        f"ExecStart=/bin/sh -c {shlex.quote(restart)}",
    ]
    return "\n".join(lines) + "\n"


def _command(argv: list[str]) -> str:
    """A command line for `ExecStart=`: shell-quoted, and `%` escaped (systemd reads `%h` in
    the worker's `--hostname=worker@%h`, meant for Celery, as the user's home)."""
    return shlex.join(argv).replace("%", "%%")


def _watchdog_timer(service: Service) -> str:
    lines = [
        "[Unit]",
        f"Description=tradetrace {service.name}: check its heartbeat",
        "",
        "[Timer]",
        f"OnActiveSec={WATCHDOG_PERIOD_SECONDS}",
        f"OnUnitActiveSec={WATCHDOG_PERIOD_SECONDS}",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]
    return "\n".join(lines) + "\n"


def write_units(directory: Path, env_file: Path = DEFAULT_ENV_FILE,
                user: str | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in units(env_file, user).items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths


def systemd_analyze() -> Path:
    """`systemd-analyze`, which checks the units, installed from Debian's `systemd` package
    first if it is missing (as the browser is: tradetrace/stack/browser.py)."""
    if not SYSTEMD_ANALYZE.exists():
        apt_install(["systemd"], state_dir() / "systemd" / "install.log")
    return SYSTEMD_ANALYZE
