"""The collector manifest keeps core and contrib on one release, with the components we use."""

from __future__ import annotations

import secrets

import yaml

from tradetrace.stack.components.collector import (
    CONFIG,
    HELD_BACK,
    MANIFEST,
    REPLACED,
    collector_release,
)

KINDS = ("receivers", "processors", "exporters", "connectors", "extensions", "providers")


def _modules() -> dict[str, str]:
    spec = yaml.safe_load(MANIFEST.read_text())
    return dict(line["gomod"].split() for kind in KINDS for line in spec[kind])


def test_every_module_is_on_the_core_release() -> None:
    release = collector_release()
    stable = {version for module, version in _modules().items() if version.startswith("v1.")}
    # Core 0.N.0 ships with stable 1.(N-94).0 (0.158.0 <-> 1.64.0, 0.165.0 <-> 1.71.0).
    assert stable == {f"v1.{int(release.split('.')[1]) - 94}.0"}
    others = {m: v for m, v in _modules().items()
              if not v.startswith("v1.") and m not in HELD_BACK}
    assert set(others.values()) == {f"v{release}"}, others


def test_held_back_modules_are_in_the_manifest_at_the_listed_older_release() -> None:
    release = tuple(int(part) for part in collector_release().split("."))
    for module, version in HELD_BACK.items():
        assert _modules()[module] == version
        assert tuple(int(part) for part in version[1:].split(".")) < release


def test_the_only_replaced_dependencies_are_the_listed_ones() -> None:
    """A `replaces` line pins a dependency under a component to another release: each is
    listed, with its reason, in collector.REPLACED."""
    replaces = yaml.safe_load(MANIFEST.read_text()).get("replaces", [])
    pinned = {}
    for line in replaces:
        module, target = (part.strip() for part in line.split("=>"))
        target_module, version = target.split()
        assert target_module == module, "a replace pins a release, not another module"
        pinned[module] = version
    assert pinned == REPLACED


def test_manifest_has_the_components_the_configs_use() -> None:
    names = {module.rsplit("/", 1)[1] for module in _modules()}
    assert {"otlpreceiver", "batchprocessor", "memorylimiterprocessor", "tailsamplingprocessor",
            "transformprocessor", "redactionprocessor", "deltatocumulativeprocessor",
            "otlpexporter", "debugexporter", "prometheusexporter",
            "prometheusremotewriteexporter", "loadbalancingexporter", "awsxrayexporter",
            "spanmetricsconnector",
            "servicegraphconnector", "signaltometricsconnector", "healthcheckextension",
            "sigv4authextension", "kafkaexporter", "kafkareceiver"} <= names


def test_the_collector_masks_our_api_keys_by_the_pattern_the_keys_are_made_with() -> None:
    """One home for the key's shape: api_keys.KEY_PATTERN; the redaction repeats it (YAML
    cannot import), so this keeps the two equal and checks a fresh key matches."""
    import re

    from services.shared.api_keys import KEY_PATTERN, KEY_PREFIX

    config = yaml.safe_load(CONFIG.read_text())
    assert KEY_PATTERN in config["processors"]["redaction/secrets"]["blocked_values"]
    assert re.fullmatch(KEY_PATTERN, KEY_PREFIX + secrets.token_urlsafe(32))
