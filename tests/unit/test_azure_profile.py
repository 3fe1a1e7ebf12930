"""TRADETRACE_PROFILE=azure: W3C ids and headers as locally, the Azure resource attributes."""

from __future__ import annotations

from pathlib import Path

from opentelemetry import propagate
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from tracing import profile
from tracing.profile import id_generator, install_propagator, profile_resource


def test_azure_keeps_w3c_ids_and_propagation(monkeypatch) -> None:
    """Application Insights takes W3C trace ids and traceparent as they are."""
    monkeypatch.delenv("OTEL_PYTHON_ID_GENERATOR", raising=False)
    monkeypatch.delenv("OTEL_PROPAGATORS", raising=False)
    saved = propagate.get_global_textmap()
    install_propagator("azure")
    assert propagate.get_global_textmap() is saved
    assert isinstance(id_generator("azure"), RandomIdGenerator)


def test_the_azure_resource_names_the_cloud_and_aks_where_it_runs(monkeypatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    profile_resource.cache_clear()
    assert dict(profile_resource("azure").attributes) == {"cloud.provider": "azure"}

    monkeypatch.setattr(profile, "_on_kubernetes", lambda: True)
    profile_resource.cache_clear()
    assert dict(profile_resource("azure").attributes) == {
        "cloud.provider": "azure", "cloud.platform": "azure.aks"}
    profile_resource.cache_clear()
