"""Apache Kafka in KRaft mode (one node), from its Maven Central jars, run with the machine's
Java."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from string import Template

from tradetrace.stack.components.base import Component
from tradetrace.stack.health import StackError
from tradetrace.stack.paths import REPO_ROOT, cache_dir, content_key
from tradetrace.stack.ports import HOST, port
from tradetrace.stack.process import Launch
from tradetrace.stack.steps import require_program, resolve_jars, run

KAFKA_DIR = REPO_ROOT / "kafka"
POM = KAFKA_DIR / "pom.xml"


def kafka_version() -> str:
    """The broker version, read from the POM so it is written in one place."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if not match:
        raise StackError(f"kafka: no <kafka.version> in {POM}")
    return match.group(1)


def bootstrap_servers() -> str:
    return f"{HOST}:{port('kafka')}"


class Kafka(Component):
    name = "kafka"
    startup_timeout = 90.0

    @property
    def artifact(self) -> Path:
        """The broker's jars."""
        return cache_dir() / f"kafka-{kafka_version()}-{content_key(POM)}" / "libs"

    def build(self, staging: Path) -> None:
        resolve_jars(self.name, POM, staging / "libs", self.install_log)

    @property
    def properties(self) -> Path:
        return self.state / "server.properties"

    def prepare(self) -> None:
        super().prepare()
        template = Template((KAFKA_DIR / "server.properties").read_text())
        self.properties.write_text(template.substitute(
            host=HOST, broker_port=port("kafka", "broker"),
            controller_port=port("kafka", "KRaft"), data_dir=self.data_dir))
        if not (self.data_dir / "meta.properties").exists():
            run("kafka: format KRaft storage",
                [*self._java(), "kafka.tools.StorageTool", "format",
                 "--cluster-id", _cluster_id(), "--config", str(self.properties),
                 "--ignore-formatted"],
                self.log_path)

    def _java(self) -> list[str]:
        java = require_program(self.name, "java", "(Java 17+) to run the broker")
        return [java, f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.yaml'}",
                "-cp", f"{self.artifact}/*"]

    def launch(self) -> Launch:
        java, *rest = self._java()
        return Launch([java, "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", *rest,
                       "kafka.Kafka", str(self.properties)])

    def healthy(self) -> bool:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": bootstrap_servers(), "log_level": 0,
                             "logger": _silent_logger()})
        try:
            return bool(admin.list_topics(timeout=1.0).brokers)
        except Exception:  # KafkaException while the broker is still starting
            return False


def _cluster_id() -> str:
    """KRaft's cluster id: a UUID in URL-safe base64 without padding (22 characters), never
    starting with "-", as Kafka's own `Uuid.randomUuid` (`kafka-storage random-uuid`) makes
    them: the storage tool would read such an id as an option (1 fresh machine in 64 could
    not start Kafka)."""
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _silent_logger():
    import logging

    logger = logging.getLogger("tradetrace.stack.kafka-probe")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return logger
