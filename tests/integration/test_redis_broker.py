"""Kombu's Redis transport with one client per channel (services/shared/redis_broker.py), on
the stack's Redis: the client is kept while the pool is, and rebuilt when kombu drops it."""

from __future__ import annotations

from services.shared.redis_broker import Channel
from services.shared.settings import Settings
from services.shared.tasks import publisher


def test_a_channel_keeps_its_client_until_its_pool_is_dropped(settings: Settings,
                                                              own_redis_url: str) -> None:
    app = publisher(settings.model_copy(update={"redis_url": own_redis_url}))
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert isinstance(channel, Channel)
        client = channel._create_client()
        assert channel._create_client() is client and client.ping()
        assert channel._create_client(asynchronous=True) is not client
        channel._disconnect_pools()        # what kombu does when the connection is lost
        again = channel._create_client()
        assert again is not client and again.ping()
