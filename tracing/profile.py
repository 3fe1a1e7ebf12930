"""The deployment profile, `TRADETRACE_PROFILE`: `local` (default), `aws`, `azure` or `gcp`.

Moving to a cloud must be configuration only, so one variable picks the defaults that differ.
On AWS: trace ids X-Ray accepts, the X-Ray header beside W3C's, and the AWS resource
attributes. On Azure and Google Cloud only the resource differs: Application Insights and Cloud
Trace take W3C trace context and ids as they are, so no other header or id is needed inside
the platform (Google's X-Cloud-Trace-Context is its load balancers' concern, at the edge).
A standard variable that is set still wins: OTEL_PYTHON_ID_GENERATOR, OTEL_PROPAGATORS,
OTEL_RESOURCE_ATTRIBUTES.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from opentelemetry import propagate
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource, ResourceDetector, get_aggregated_resources
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util._importlib_metadata import entry_points
from pydantic import ValidationError

from tracing.settings import Profile, TracingSettings

# A detector asks a metadata endpoint; a Celery child must not wait on one for long.
DETECTOR_TIMEOUT_SECONDS = 2
# cloud.platform of the managed Kubernetes of the clouds whose resource the services set
# themselves (semantic conventions' values; the profile's name is its cloud.provider).
KUBERNETES_PLATFORMS: dict[Profile, str] = {"azure": "azure.aks",
                                            "gcp": "gcp_kubernetes_engine"}


def current_profile() -> Profile:
    try:
        return TracingSettings().profile
    except ValidationError:
        raise ValueError(f"TRADETRACE_PROFILE={os.environ.get('TRADETRACE_PROFILE')!r} is not "
                         "a profile: use 'local', 'aws', 'azure' or 'gcp'") from None


def id_generator(profile: Profile) -> IdGenerator:
    """X-Ray ids (start time in the first 32 bits) on AWS. A hand-built TracerProvider does not
    read OTEL_PYTHON_ID_GENERATOR, so it is honoured here."""
    if name := os.environ.get("OTEL_PYTHON_ID_GENERATOR", "").strip():
        found = list(entry_points(group="opentelemetry_id_generator", name=name))
        if not found:
            raise ValueError(f"OTEL_PYTHON_ID_GENERATOR={name!r}: no such id generator installed")
        generator: IdGenerator = found[0].load()()
        return generator
    if profile == "aws":
        from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator

        return AwsXRayIdGenerator()
    return RandomIdGenerator()


def install_propagator(profile: Profile) -> None:
    """On AWS, W3C and X-Ray headers are both read and written, so a hop that speaks either
    continues the trace while services migrate. OTEL_PROPAGATORS, where set, was applied
    when the API was imported and is left alone."""
    if profile != "aws" or os.environ.get("OTEL_PROPAGATORS", "").strip():
        return
    from tracing.xray import XRayPropagator

    propagate.set_global_textmap(CompositePropagator([
        TraceContextTextMapPropagator(), W3CBaggagePropagator(), XRayPropagator()]))


@lru_cache
def profile_resource(profile: Profile) -> Resource:
    """cloud.provider and cloud.region on AWS, plus what the ECS, EKS or EC2 detector finds
    when the process runs there (each bounded; cached, so a forked Celery child reuses it).
    On Azure and Google Cloud, cloud.provider and, on Kubernetes, cloud.platform: the region
    and the host's ids are the collector's to add where it runs (its detectors ask the cloud's
    metadata service once, not every process)."""
    if profile in KUBERNETES_PLATFORMS:
        return _cloud_resource(profile)
    if profile != "aws":
        return Resource.get_empty()
    base = {"cloud.provider": "aws"}
    if region := os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"):
        base["cloud.region"] = region
    return get_aggregated_resources(_aws_detectors(), Resource(base),
                                    timeout=DETECTOR_TIMEOUT_SECONDS)


def _cloud_resource(profile: Profile) -> Resource:
    attributes: dict[str, str] = {"cloud.provider": profile}
    if _on_kubernetes():
        attributes["cloud.platform"] = KUBERNETES_PLATFORMS[profile]
    return Resource(attributes)


def _on_kubernetes() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and Path(
        "/var/run/secrets/kubernetes.io/serviceaccount/token").exists()


def _aws_detectors() -> list[ResourceDetector]:
    """Only the detectors of the platform the process runs on: elsewhere each would wait on a
    metadata endpoint that never answers."""
    from opentelemetry.sdk.extension.aws.resource import (
        AwsEc2ResourceDetector,
        AwsEcsResourceDetector,
        AwsEksResourceDetector,
    )

    if os.environ.get("ECS_CONTAINER_METADATA_URI_V4") or os.environ.get(
            "ECS_CONTAINER_METADATA_URI"):
        return [AwsEcsResourceDetector()]
    if _on_kubernetes():
        return [AwsEksResourceDetector()]
    if _on_ec2():
        return [AwsEc2ResourceDetector()]
    return []


def _on_ec2() -> bool:
    """The hypervisor's own marks of an EC2 instance (Xen: uuid; Nitro: the instance id)."""
    for path, prefix in (("/sys/hypervisor/uuid", "ec2"),
                         ("/sys/devices/virtual/dmi/id/board_asset_tag", "i-")):
        try:
            if Path(path).read_text().strip().lower().startswith(prefix):
                return True
        except OSError:
            continue
    return False
