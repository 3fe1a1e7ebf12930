"""The Celery worker: runs a pipeline's agents in order and records the execution."""
