"""Every Kafka client of the platform gets the same security properties (SASL/TLS in
production), from one setting, and they never show in the settings' repr."""

from __future__ import annotations

import json

from services.shared.settings import Settings


def test_security_properties_reach_every_client_config_and_stay_out_of_the_repr(
        monkeypatch) -> None:
    secret = "s3cr3t-sasl-password"
    monkeypatch.setenv("TRADETRACE_KAFKA_CLIENT", json.dumps({
        "security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "dispatcher", "sasl.password": secret}))
    monkeypatch.setenv("TRADETRACE_KAFKA_BOOTSTRAP_SERVERS", "broker-1:9096")
    settings = Settings()
    config = settings.kafka_config({"group.id": "g"})
    assert config == {"bootstrap.servers": "broker-1:9096", "security.protocol": "SASL_SSL",
                      "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "dispatcher",
                      "sasl.password": secret, "group.id": "g"}
    assert secret not in repr(settings)
    assert "sasl" not in repr(settings)

