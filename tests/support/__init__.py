"""Helpers every test tier shares: bounded waiting, free ports, reading Kafka and Prometheus."""
