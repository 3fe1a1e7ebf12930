"""Which broker URLs get kombu's Redis transport with one client per channel
(services/shared/redis_broker.py; what it keeps is tests/integration/test_redis_broker.py's)."""

from __future__ import annotations

from services.shared.redis_broker import transport_for
from services.shared.settings import Settings
from services.shared.tasks import celery_config


def test_a_plain_redis_broker_gets_it_and_any_other_keeps_its_own() -> None:
    assert celery_config(Settings(redis_url="redis://127.0.0.1:6379/3"))["broker_transport"] \
        == "services.shared.redis_broker:Transport"
    assert transport_for("memory://") is None and transport_for("rediss://h:6380/0") is None
