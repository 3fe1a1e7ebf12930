"""Apache Cassandra (one node), the scale profile's trace store for Jaeger, from its Maven
Central jars like the Kafka broker, run with the machine's Java 17."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING

from tradetrace.stack.components.base import Component
from tradetrace.stack.health import StackError, tcp_open
from tradetrace.stack.paths import REPO_ROOT, cache_dir, content_key
from tradetrace.stack.ports import HOST, port
from tradetrace.stack.process import Launch
from tradetrace.stack.steps import require_program, resolve_jars

if TYPE_CHECKING:
    from cassandra.cluster import Session

CASSANDRA_DIR = REPO_ROOT / "cassandra"
POM = CASSANDRA_DIR / "pom.xml"
JAMM = "jamm-0.4.0.jar"     # the memory meter Cassandra loads as a Java agent


def cassandra_version() -> str:
    """The node's version, read from the POM so it is written in one place."""
    match = re.search(r"<cassandra\.version>([^<]+)</cassandra\.version>", POM.read_text())
    if not match:
        raise StackError(f"cassandra: no <cassandra.version> in {POM}")
    return match.group(1)


def cql_contact() -> tuple[str, int]:
    return HOST, port("cassandra", "CQL")


class Cassandra(Component):
    name = "cassandra"
    startup_timeout = 120.0     # ~25 s on 2 cores when idle; much more beside a busy stack

    @property
    def artifact(self) -> Path:
        """The node's jars."""
        return cache_dir() / f"cassandra-{cassandra_version()}-{content_key(POM)}" / "libs"

    def build(self, staging: Path) -> None:
        resolve_jars(self.name, POM, staging / "libs", self.install_log)

    @property
    def config(self) -> Path:
        return self.state / "cassandra.yaml"

    def prepare(self) -> None:
        super().prepare()
        template = Template((CASSANDRA_DIR / "cassandra.yaml").read_text())
        self.config.write_text(template.substitute(
            host=HOST, cql_port=port("cassandra", "CQL"),
            storage_port=port("cassandra", "inter-node")))

    def launch(self) -> Launch:
        java = require_program(self.name, "java", "(Java 17+) to run Cassandra")
        return Launch([
            java, "-Xms256m", "-Xmx512m", *_jvm_options(),
            f"-javaagent:{self.artifact / JAMM}",
            f"-Dcassandra.config=file://{self.config}",
            f"-Dcassandra.storagedir={self.data_dir}",
            f"-Dlogback.configurationFile={CASSANDRA_DIR / 'logback.xml'}",
            "-Dcassandra-foreground=yes",
            # JMX on loopback only, for nodetool (flush, table sizes); no remote access.
            f"-Dcassandra.jmx.local.port={port('cassandra', 'JMX')}",
            "-cp", f"{self.artifact}/*", "org.apache.cassandra.service.CassandraDaemon",
        ])

    def nodetool(self, *args: str) -> str:
        """Run nodetool against the node (over its loopback JMX port); returns its output."""
        java = require_program(self.name, "java", "(Java 17+) to run nodetool")
        result = subprocess.run(
            [java, *_jvm_options(), "-cp", f"{self.artifact}/*",
             "org.apache.cassandra.tools.NodeTool",
             "-h", HOST, "-p", str(port("cassandra", "JMX")), *args],
            capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise StackError(f"cassandra: nodetool {' '.join(args)} failed: "
                             f"{(result.stderr or result.stdout).strip()[-2000:]}")
        return result.stdout

    def keyspace_bytes(self, keyspace: str) -> int:
        """The keyspace's size on disk once its memtables are flushed (the commit log aside)."""
        self.nodetool("flush", keyspace)
        folder = self.data_dir / "data" / keyspace
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())

    def healthy(self) -> bool:
        """The node answers a CQL query (its port opens a while before it serves)."""
        if not tcp_open(*cql_contact()):    # no driver errors logged while it boots
            return False
        try:
            with cql_session(timeout=2.0) as session:
                return session.execute("SELECT release_version FROM system.local").one() is not None
        except Exception:   # NoHostAvailable, OperationTimedOut while it starts
            return False


def _jvm_options() -> list[str]:
    """cassandra/jvm.options: what the server and its tools need of the JVM on Java 17."""
    return [line for line in (CASSANDRA_DIR / "jvm.options").read_text().splitlines()
            if line and not line.startswith("#")]


@contextmanager
def cql_session(timeout: float = 10.0) -> Iterator[Session]:
    """A CQL session to the node; the driver is shut down after."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import RoundRobinPolicy

    host, cql_port = cql_contact()
    one_node = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=timeout)
    cluster = Cluster([host], port=cql_port, protocol_version=5, connect_timeout=timeout,
                      control_connection_timeout=timeout,
                      execution_profiles={EXEC_PROFILE_DEFAULT: one_node})
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()
