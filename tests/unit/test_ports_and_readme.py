"""One table of ports (tradetrace/stack/ports.py): the README, the settings' defaults and every
config file that names a port agree with it."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from services.shared.settings import Settings
from tradetrace.stack.paths import REPO_ROOT
from tradetrace.stack.ports import HOST, PORTS, free_port

LOOPBACK = {"127.0.0.1", "localhost", "0.0.0.0", ""}
# Compose's service names for the components of the port table; other names (grafana, tempo)
# are compose-only services the native stack does not run.
COMPOSE_HOSTS = {"postgres": "postgres", "redis": "redis", "kafka": "kafka",
                 "otel-collector": "collector", "jaeger": "jaeger",
                 "prometheus": "prometheus", "backend": "backend"}
# Files the native stack and compose share; a loopback address in them is a native port.
CONFIGS = ["collector/spanmetrics.yaml", "jaeger/config.yaml", "prometheus/prometheus.yml",
           "grafana/provisioning/datasources/datasources.yml"]
# Compose services that share the collector's network namespace (one loopback for all three).
SHARED_NAMESPACE = {"otel-collector", "jaeger", "prometheus"}
ADDRESS = re.compile(r"(?:(?<=[\s\"'/@,=-])|^)([a-z][a-z0-9.-]*|\d+\.\d+\.\d+\.\d+)?:(\d{4,5})\b",
                     re.MULTILINE)


def _by_component() -> dict[str, set[int]]:
    table: dict[str, set[int]] = {}
    for entry in PORTS:
        table.setdefault(entry.component, set()).add(entry.number)
    return table


def _addresses(text: str) -> list[tuple[str, int]]:
    return [(host or "", int(number)) for host, number in ADDRESS.findall(text)]


def test_readme_port_table_matches_the_launcher() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("### Ports", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| *([\w-]+) *\| *(\d+) *\|", section, flags=re.MULTILINE)
    assert {(name, int(number)) for name, number in rows} == {(p.component, p.number)
                                                             for p in PORTS}


def test_ports_are_unique() -> None:
    numbers = [p.number for p in PORTS]
    assert len(numbers) == len(set(numbers))


def _check(where: str, found: list[tuple[str, int]], loopback: set[int]) -> None:
    table = _by_component()
    for host, number in found:
        if host == "localhost":     # the user's host, where compose publishes the UIs
            assert number in {p.number for p in PORTS}, f"{where}: {host}:{number} unknown"
        elif host in LOOPBACK:
            assert number in loopback, f"{where}: {host}:{number} is not in ports.py"
        elif host in COMPOSE_HOSTS:
            assert number in table[COMPOSE_HOSTS[host]], (
                f"{where}: {host}:{number} is not a port of {COMPOSE_HOSTS[host]} in ports.py")


@pytest.mark.parametrize("config", CONFIGS)
def test_every_address_in_a_config_file_is_in_the_port_table(config: str) -> None:
    found = _addresses((REPO_ROOT / config).read_text())
    assert found, f"{config}: no address found (the pattern no longer matches the file)"
    _check(config, found, {p.number for p in PORTS})


def test_every_address_in_compose_is_in_the_port_table() -> None:
    """Per service: a loopback address there is the service's own (or its shared namespace's)
    port, a service name is that component's port, `localhost` is the user's host. Grafana and
    Tempo are compose-only."""
    services = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
    table, checked = _by_component(), 0
    for name, service in services.items():
        if name not in COMPOSE_HOSTS:
            continue
        namespace = SHARED_NAMESPACE if name in SHARED_NAMESPACE else {name}
        own = set().union(*(table[COMPOSE_HOSTS[n]] for n in namespace))
        found = _addresses(yaml.safe_dump(service, width=1000))
        _check(f"docker-compose.yml {name}", found, own)
        checked += len(found)
    assert checked > 10, "the pattern no longer finds compose's addresses"


def test_the_settings_defaults_use_the_port_table() -> None:
    settings, table = Settings(), _by_component()
    assert urlsplit(settings.redis_url).port in table["redis"]
    assert urlsplit(settings.jaeger_query_url).port == min(table["jaeger"] - {
        14317, 14318, 13134, 18888, 16685})
    assert urlsplit(settings.prometheus_url).port in table["prometheus"]
    assert {int(a.rsplit(":", 1)[1]) for a in settings.kafka_bootstrap_servers.split(",")} <= \
        table["kafka"]
    assert settings.backend_port in table["backend"]


def test_the_address_pattern_finds_what_it_must() -> None:
    """The check above is only as good as the pattern: it sees each form the files use."""
    text = ('endpoint: ${env:X:-127.0.0.1:4317}\n'
            '  - targets: ["127.0.0.1:8889"]\n'
            'url: http://prometheus:9090\n'
            'X: postgresql+psycopg://u:${P:?set}@postgres:5432/db\n'
            '      - "127.0.0.1:3000:3000"\n')
    assert _addresses(text) == [("127.0.0.1", 4317), ("127.0.0.1", 8889), ("prometheus", 9090),
                                ("postgres", 5432), ("127.0.0.1", 3000)]


def test_free_ports_are_distinct_bindable_and_clear_of_the_ephemeral_range() -> None:
    """A free port is never one the kernel hands to an outgoing connection or a bind(0), nor
    one handed out before: else a component's port is taken between the probe and its start."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    handed = [free_port() for _ in range(200)]
    assert len(set(handed)) == len(handed)
    assert max(handed) < low and not set(handed) & {entry.number for entry in PORTS}
    with socket.socket() as listener:
        listener.bind((HOST, handed[-1]))
