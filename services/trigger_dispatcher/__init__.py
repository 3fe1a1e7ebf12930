"""The trigger-dispatcher: Kafka signals in, one Celery task per matching pipeline out."""
