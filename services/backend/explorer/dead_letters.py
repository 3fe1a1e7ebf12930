"""The explorer's DLQ page: the parked messages, newest first, each opening its trace.

Read-only, as every page behind the cookie: a redrive wants the API's write key in a header
(`POST /dlq/{partition}/{offset}/redrive`, or `tradetrace dlq redrive`), which the page names.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis
from confluent_kafka import KafkaException

from services.shared import redrive
from services.shared.settings import Settings

ROWS = 200


def view(settings: Settings, client: redis.Redis, reason: str | None, ticker: str | None,
         hours: int | None) -> dict[str, object]:
    """The page's values: the entries matching the filters, or why there are none (Kafka
    away is said on the page, not an error)."""
    since = datetime.now(UTC) - timedelta(hours=hours) if hours else None
    try:
        entries, problem = redrive.read_parked(settings, client, reason=reason or None,
                                               ticker=ticker or None, since=since,
                                               limit=ROWS), None
    except (KafkaException, TimeoutError) as error:
        entries, problem = [], (f"Kafka is not reachable at "
                                f"{settings.kafka_bootstrap_servers}: {error}")
    return {"entries": entries, "problem": problem, "topic": settings.dlq_topic,
            "wanted": {"reason": reason or "", "ticker": ticker or "", "hours": hours},
            "now": datetime.now(UTC)}
