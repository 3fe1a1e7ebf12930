"""Each cloud profile's collector overlay, merged over spanmetrics.yaml as the collector merges
them: it changes where the results go, never what is derived or how it is sampled."""

from __future__ import annotations

import pytest
import yaml

from tests.support.collector_overlays import merged_config
from tradetrace.stack.components.collector import AWS_OVERLAY, AZURE_OVERLAY, CONFIG, GCP_OVERLAY

OVERLAYS = {"aws": AWS_OVERLAY, "azure": AZURE_OVERLAY, "gcp": GCP_OVERLAY}
LOCAL_EXPORTERS = {"otlp_grpc/jaeger", "prometheus"}


@pytest.mark.parametrize("cloud", sorted(OVERLAYS))
def test_a_pipeline_keeps_the_base_s_processors_in_order_beside_the_overlay_s_own(
        cloud: str) -> None:
    """The overlay restates a pipeline's processors only to add its own among them (lists are
    replaced, not merged): take its own out and the base's list must remain, so a change to
    spanmetrics.yaml cannot be silently undone on one cloud."""
    base = yaml.safe_load(CONFIG.read_text())["service"]["pipelines"]
    overlay = yaml.safe_load(OVERLAYS[cloud].read_text())
    own = set(overlay.get("processors", {}))
    for name, pipeline in overlay["service"]["pipelines"].items():
        if name in base and "processors" in pipeline:
            kept = [p for p in pipeline["processors"] if p not in own]
            assert kept == base[name].get("processors", []), (cloud, name)


@pytest.mark.parametrize("cloud", sorted(OVERLAYS))
def test_nothing_is_left_going_to_the_local_jaeger_or_prometheus(cloud: str) -> None:
    merged = merged_config(CONFIG, OVERLAYS[cloud])
    for name, pipeline in merged["service"]["pipelines"].items():
        assert not LOCAL_EXPORTERS & set(pipeline["exporters"]), (cloud, name)
    stored = {"traces/store", "logs/store", "metrics/red", "metrics/state", "metrics/derived"}
    assert stored <= set(merged["service"]["pipelines"]), cloud
