"""The signal-generator: mock and golden-cross signals, published to Kafka."""
