"""The trading platform: backend, signal-generator, trigger-dispatcher and worker."""
