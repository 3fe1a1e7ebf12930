"""The version of every component the native stack runs, read from where each is pinned.

docker-compose.yml runs the same versions (tests/unit/test_compose.py compares its images to
these), so a bump in the POM, the collector manifest or Jaeger's go.mod fails that test until
the compose file follows.
"""

from __future__ import annotations

from tradetrace.stack.components.cassandra import cassandra_version
from tradetrace.stack.components.collector import collector_release
from tradetrace.stack.components.jaeger import jaeger_release
from tradetrace.stack.components.kafka import kafka_version
from tradetrace.stack.components.prometheus import prometheus_release

# Debian 12's packages, which the native stack installs (checked against the installed
# programs by tests/integration/test_stack_components.py).
DEBIAN_RELEASES = {"redis": "7.0", "postgres": "15"}


def native_versions() -> dict[str, str]:
    return {"kafka": kafka_version(), "collector": collector_release(),
            "jaeger": jaeger_release(), "cassandra": cassandra_version(),
            "prometheus": prometheus_release(), **DEBIAN_RELEASES}
