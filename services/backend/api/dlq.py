"""The dead-letter queue over HTTP: its entries behind a read key, a redrive behind a write key
(services/shared/redrive.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from confluent_kafka import KafkaException
from fastapi import APIRouter, HTTPException, Path, Query, status

from services.backend.auth import require_read, require_write
from services.backend.deps import RedisDep, SettingsDep
from services.shared import redrive
from services.shared.dead_letters import Parked

router = APIRouter(prefix="/dlq", tags=["dlq"])

Partition = Annotated[int, Path(ge=0, le=2**31 - 1)]
Offset = Annotated[int, Path(ge=0, le=2**63 - 1)]

def _unavailable(error: Exception) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                         f"the DLQ cannot be read or written now: {error}")


@router.get("", dependencies=[require_read])
def list_parked(settings: SettingsDep, redis_client: RedisDep,
                reason: str | None = Query(None, max_length=200),
                ticker: str | None = Query(None, max_length=20),
                since_minutes: int | None = Query(None, ge=1, le=366 * 24 * 60),
                limit: int = Query(100, ge=1, le=1000)) -> list[dict[str, Any]]:
    """Newest first; each with its reasons, source, ticker, signal id and trace id."""
    since = (datetime.now(UTC) - timedelta(minutes=since_minutes)) if since_minutes else None
    try:
        entries = redrive.read_parked(settings, redis_client, reason=reason,
                                           ticker=ticker, since=since, limit=limit)
    except (KafkaException, TimeoutError) as error:
        raise _unavailable(error) from error
    return [e.summary() for e in entries]


def _find(settings: SettingsDep, redis_client: RedisDep, partition: int,
          offset: int) -> Parked:
    try:
        return redrive.find_parked(settings, redis_client, partition, offset)
    except redrive.NotParked as missing:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(missing)) from missing
    except (KafkaException, TimeoutError) as error:
        raise _unavailable(error) from error


@router.get("/{partition}/{offset}", dependencies=[require_read])
def get_parked(settings: SettingsDep, redis_client: RedisDep, partition: Partition,
               offset: Offset) -> dict[str, Any]:
    """One entry with its key, value and headers."""
    return _find(settings, redis_client, partition, offset).detail()


@router.post("/{partition}/{offset}/redrive", dependencies=[require_write])
def redrive_parked(settings: SettingsDep, redis_client: RedisDep, partition: Partition,
                   offset: Offset) -> dict[str, Any]:
    """Back to its source topic, once (409 if it was redriven before)."""
    entry = _find(settings, redis_client, partition, offset)
    try:
        sent = redrive.redrive(settings, redis_client, entry)
    except redrive.AlreadyRedriven as again:
        raise HTTPException(status.HTTP_409_CONFLICT, str(again)) from again
    except (KafkaException, TimeoutError) as error:
        raise _unavailable(error) from error
    return {"entry": entry.id, "sent": sent.as_dict()}
