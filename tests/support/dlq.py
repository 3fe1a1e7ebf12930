"""The DLQ as a test reads it: the entry a message became, found by where it was read from."""

from __future__ import annotations

from services.shared import dead_letters, redrive
from services.shared.clients import redis_client
from services.shared.settings import Settings
from tests.support.polling import eventually


def parked_entry(settings: Settings, topic: str, partition: int, offset: int,
                 timeout: float = 60.0) -> dead_letters.Parked:
    """The DLQ entry of the message at these source coordinates, once it is parked."""
    client = redis_client(settings)
    source = (topic, partition, offset)

    def parked() -> dead_letters.Parked | None:
        return next((entry for entry in redrive.read_parked(settings, client, limit=1000)
                     if (entry.source_topic, entry.source_partition, entry.source_offset)
                     == source), None)
    return eventually(parked, f"{topic}/{partition}:{offset} in the DLQ", timeout=timeout)
