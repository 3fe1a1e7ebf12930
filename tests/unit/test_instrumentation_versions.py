"""Every instrumentation we turn on supports the library version installed beside it.

An instrumentation outside its supported range logs one line and instruments nothing, so a
dependency upgrade could silently drop every SQL or Redis span: this test catches it.
"""

from __future__ import annotations

import importlib

import pytest
from opentelemetry.instrumentation.dependencies import get_dependency_conflicts

INSTRUMENTATIONS = ["sqlalchemy", "redis", "celery", "fastapi", "confluent_kafka"]


@pytest.mark.parametrize("name", INSTRUMENTATIONS)
def test_installed_library_is_in_the_supported_range(name: str) -> None:
    package = importlib.import_module(f"opentelemetry.instrumentation.{name}.package")
    assert get_dependency_conflicts(list(package._instruments)) is None
