"""What a service does to its heap before its loop (`settle_heap`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from services.shared.lifecycle import YOUNG_GENERATION_THRESHOLD, settle_heap


@pytest.fixture
def heap_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_settling_freezes_what_is_loaded_and_collects_the_young_less_often(
        heap_restored: None) -> None:
    threshold_before = gc.get_threshold()
    gc.unfreeze()
    settle_heap()
    assert gc.get_freeze_count() > 10_000      # the modules loaded for the tests, at least
    assert gc.get_threshold()[0] == YOUNG_GENERATION_THRESHOLD
    assert gc.get_threshold()[1:] == threshold_before[1:]  # older generations as before
