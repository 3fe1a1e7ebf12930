"""A batch's push retries a connection error as Celery's publish retry policy says, then gives
up with the error (the dispatcher rewinds the batch). Redis is a stand-in here that refuses a
given number of round trips; the real Redis going away is the fault tier's
(tests/integration/faults/test_dispatcher_batches.py)."""

from __future__ import annotations

import pytest
import redis

from services.shared.db import TriggerMode
from services.shared.settings import Settings
from services.shared.task_batches import TaskBatch
from services.shared.tasks import PIPELINE_QUEUE, PipelineRun, celery_config, publisher

SETTINGS = Settings(redis_url="memory://")
POLICY = celery_config(SETTINGS)["task_publish_retry_policy"]


class RefusingRedis:
    """Refuses the first `refusals` round trips, then keeps what it is sent."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.round_trips = 0
        self.pushed: list[tuple[str, tuple[bytes, ...]]] = []

    def pipeline(self, transaction: bool) -> RefusingRedis.Pipe:
        assert not transaction
        return RefusingRedis.Pipe(self)

    class Pipe:
        def __init__(self, server: RefusingRedis) -> None:
            self.server, self.commands = server, []   # type: ignore[var-annotated]

        def lpush(self, key: str, *values: bytes) -> None:
            self.commands.append((key, values))

        def execute(self) -> None:
            self.server.round_trips += 1
            if self.server.round_trips <= self.server.refusals:
                raise redis.ConnectionError("Connection refused")
            self.server.pushed.extend(self.commands)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("services.shared.task_batches.time.sleep", slept.append)
    return slept


def _batch(runs: int) -> TaskBatch:
    batch = TaskBatch(publisher(SETTINGS))
    for i in range(runs):
        batch.add(PipelineRun(execution_id=f"e-{i}", pipeline_id=i,
                              trigger_mode=TriggerMode.SIGNAL, lock_token="t"))
    return batch


def test_a_refused_push_is_retried_with_celerys_intervals_and_lands_once(
        sleeps: list[float]) -> None:
    server = RefusingRedis(refusals=POLICY["max_retries"])
    batch = _batch(3)
    batch.push(server)    # type: ignore[arg-type]
    assert server.round_trips == POLICY["max_retries"] + 1
    assert server.pushed == [(PIPELINE_QUEUE, tuple(batch.payloads))]
    start, step, cap = POLICY["interval_start"], POLICY["interval_step"], POLICY["interval_max"]
    assert sleeps == [min(cap, start + n * step) for n in range(POLICY["max_retries"])]


def test_a_push_refused_past_the_policy_raises_and_lands_nothing(sleeps: list[float]) -> None:
    server = RefusingRedis(refusals=POLICY["max_retries"] + 1)
    with pytest.raises(redis.ConnectionError):
        _batch(3).push(server)    # type: ignore[arg-type]
    assert server.pushed == [] and server.round_trips == POLICY["max_retries"] + 1
