"""TRADETRACE_PROFILE=azure and gcp: W3C ids and headers as locally, the cloud's resource."""

from __future__ import annotations

import pytest
from opentelemetry import propagate
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from tracing import profile
from tracing.profile import id_generator, install_propagator, profile_resource
from tracing.settings import Profile


@pytest.mark.parametrize("cloud", ["azure", "gcp"])
def test_the_cloud_keeps_w3c_ids_and_propagation(monkeypatch, cloud: Profile) -> None:
    """Application Insights and Cloud Trace take W3C trace ids and traceparent as they are."""
    monkeypatch.delenv("OTEL_PYTHON_ID_GENERATOR", raising=False)
    monkeypatch.delenv("OTEL_PROPAGATORS", raising=False)
    saved = propagate.get_global_textmap()
    install_propagator(cloud)
    assert propagate.get_global_textmap() is saved
    assert isinstance(id_generator(cloud), RandomIdGenerator)


@pytest.mark.parametrize(("cloud", "kubernetes"), [("azure", "azure.aks"),
                                                    ("gcp", "gcp_kubernetes_engine")])
def test_the_resource_names_the_cloud_and_its_kubernetes_where_it_runs(
        monkeypatch, cloud: Profile, kubernetes: str) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    profile_resource.cache_clear()
    assert dict(profile_resource(cloud).attributes) == {"cloud.provider": cloud}

    monkeypatch.setattr(profile, "_on_kubernetes", lambda: True)
    profile_resource.cache_clear()
    assert dict(profile_resource(cloud).attributes) == {
        "cloud.provider": cloud, "cloud.platform": kubernetes}
    profile_resource.cache_clear()
