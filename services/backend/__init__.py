"""The FastAPI backend: pipelines and executions."""
