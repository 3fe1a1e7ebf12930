"""Collector config overlays the tests load on a second collector of ours."""

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
