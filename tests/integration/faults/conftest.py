"""Fixtures of the fault tier: the stack and services made whole after each test, and the
healthy batch time every recovery is measured against."""

from __future__ import annotations

import functools
import random
import string
from collections.abc import Iterator

import httpx
import pytest

from tests.support.ground_truth import SERVICES, Batch, Recovery, assert_recovered
from tradetrace.platform import Platform
from tradetrace.stack import Stack


@pytest.fixture
def restore(stack: Stack, platform: Platform) -> Iterator[None]:
    """Whatever a test stops or kills, the stack and the services are whole again after it."""
    yield
    stack.up()
    platform.up(SERVICES)


@pytest.fixture(scope="package")
def batch(api: httpx.Client, settings) -> Batch:
    return Batch.create(api, settings, "Y" + "".join(random.choices(string.ascii_uppercase, k=5)))


@pytest.fixture(scope="package")
def healthy_seconds(batch: Batch, settings) -> float:
    """A batch's time on the healthy platform, the second of two runs (the first warms up)."""
    batch.run(settings)
    seconds = batch.run(settings)
    print(f"\n[faults] healthy batch of {len(batch.tickers)}: {seconds:.2f}s")
    return seconds


@pytest.fixture
def recovered(settings, batch: Batch, healthy_seconds: float) -> Recovery:
    """`recovered(pipeline_id, ticker, fault)`: asserts the platform is whole after the fault."""
    return functools.partial(assert_recovered, settings, healthy_seconds, batch)
