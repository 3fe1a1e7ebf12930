"""Kombu's Redis transport, with one synchronous client per channel instead of one per call.

Upstream (kombu 5.7) builds a new `redis.Redis` for every synchronous operation of a channel
(`Channel.conn_or_acquire`): the worker's parent does so to record each delivered task as
unacked and again to ack it, and every `apply_async` to publish. A `redis.Redis` costs ~115 us
to build (its response-callback table), all of it waste: each of these clients is a view of
the channel's one connection pool. py-spy put it at ~15% of the worker parent's samples.

Here the channel keeps its client while its pool is the same; kombu drops the pool when it
disconnects (`_disconnect_pools`), and the next call then builds a client on the new pool.
Everything else, retries and connection handling included, is kombu's. Selected by
`broker_transport` in `services.shared.tasks.celery_config` for a plain `redis://` broker only:
an explicit transport overrides the URL's scheme, so a `memory://` broker (the unit tests) or
a `rediss://` one keeps kombu's own.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _sync_client: redis.Redis | None = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)  # type: ignore[no-untyped-call]
        pool = self.pool
        if self._sync_client is None or self._sync_client.connection_pool is not pool:
            self._sync_client = super()._create_client()  # type: ignore[no-untyped-call]
        return self._sync_client


class Transport(kombu_redis.Transport):
    Channel = Channel


def transport_for(broker_url: str) -> str | None:
    """This transport for a plain Redis broker; None (the URL's own) for any other."""
    return f"{__name__}:Transport" if broker_url.startswith("redis://") else None
