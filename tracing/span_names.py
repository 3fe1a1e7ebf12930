"""The names of the spans our services start themselves, in one place.

The collector derives the business metrics from these names (collector/spanmetrics.yaml, whose
conditions a unit test checks against this module), `tradetrace trace` finds the runs by them,
and the tests assert the trace's shape with them. Kafka spans follow the messaging convention,
"{operation} {destination}", but for the signal's first send: its root, `signal.generate`, is
that send's PRODUCER span (one span where two cost the generator twice; the root's name is
what the metrics, dashboards and explorer read).
"""

from __future__ import annotations

SIGNAL_GENERATE = "signal.generate"    # the root of a signal's trace: its Kafka PRODUCER span
PIPELINES_INDEX_REFRESH = "pipelines.index.refresh"
PIPELINE_EXECUTE = "pipeline.execute"            # one per run of a pipeline
AGENT_RUN = "agent.run"                          # one per agent of a run

OURS = (SIGNAL_GENERATE, PIPELINES_INDEX_REFRESH, PIPELINE_EXECUTE, AGENT_RUN)


def kafka_send(topic: str) -> str:
    """A PRODUCER span of our own sends (a signal's first send is its `signal.generate`)."""
    return f"send {topic}"


def kafka_receive(topic: str) -> str:
    return f"receive {topic}"


def kafka_process(topic: str) -> str:
    """One per message the dispatcher handles; a signal's carries which pipelines it matched
    and what became of them (`pipelines.*` attributes)."""
    return f"process {topic}"


def celery_publish(task: str) -> str:
    """The Celery instrumentation's name for a task's publish span (ours keeps it:
    tracing/celery_publish.py)."""
    return f"apply_async/{task}"


def celery_run(task: str) -> str:
    """The Celery instrumentation's name for a task's run span, in the worker."""
    return f"run/{task}"


def signal_chain(topic: str, task: str) -> tuple[str, ...]:
    """The shape of a signal's trace: the spans from its generation down to an agent of a run
    it triggered, each the parent of the next (`topic`: the signals' topic; `task`: the
    pipeline task). The tests, the benchmark and the scale profile's checks read it here."""
    return (SIGNAL_GENERATE, kafka_process(topic), celery_publish(task), celery_run(task),
            PIPELINE_EXECUTE, AGENT_RUN)
