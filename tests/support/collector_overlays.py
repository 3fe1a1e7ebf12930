"""Collector config overlays the tests load on a second collector of ours, and the collector's
merge of several config files, for the unit tests that read the merged result."""

from __future__ import annotations

from pathlib import Path

import yaml


def merged_config(*files: Path) -> dict:
    """The collector's merge of several --config files: maps merged, anything else replaced."""
    def merge(into: dict, new: dict) -> dict:
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value
        return into

    result: dict = {}
    for file in files:
        merge(result, yaml.safe_load(file.read_text()))
    return result


# Below the collector's working set (about 8 MiB of heap at rest), so every batch of the burst
# meets a tripped limiter: the refusals the services' exporters see in a real memory squeeze.
TRIPPED_LIMITER = """
processors:
  memory_limiter:
    check_interval: 100ms
    limit_mib: 6
    spike_limit_mib: 2
"""

# A collector that keeps few derived streams: the series limit reached with a handful of
# pipelines, as the real one (50,000) is with a busy platform's.
FEW_DERIVED_STREAMS = """
processors:
  delta_to_cumulative:
    max_streams: 10
"""
