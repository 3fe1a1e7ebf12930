"""Every Redis key the platform writes, in one place (the Celery queue's keys are Celery's).

The executions table is the record of what must run; these keys are coordination and reports:
a lock, a periodic schedule mark, what the dispatcher made of a signal, its counters.
"""

from __future__ import annotations

PREFIX = "tradetrace"

# Hash of the dispatcher's counters (signals consumed, parked, pipelines matched/enqueued/...).
DISPATCHER_STATS = f"{PREFIX}:stats:dispatcher"
# The signals the dispatcher handled, by generation time (a sorted set of signal ids), as
# long as their records last: the explorer lists from it the signals that ran nothing.
RECENT_SIGNALS = f"{PREFIX}:signals:recent"


# Which index each live dispatcher serves, one key per dispatcher process (expiring when it is
# gone): the database time its pipelines were read at. Tests wait on it after changing a
# pipeline, instead of sleeping through a refresh.
DISPATCHER_INDEX_PATTERN = f"{PREFIX}:dispatcher-index:*"


def dispatcher_index(instance: str) -> str:
    return f"{PREFIX}:dispatcher-index:{instance}"


def running_lock(pipeline_id: int) -> str:
    """Held while one of the pipeline's runs lives: a signal meanwhile skips the pipeline."""
    return f"{PREFIX}:pipeline-running:{pipeline_id}"


def periodic_due(pipeline_id: int) -> str:
    """Set for a periodic pipeline's interval once beat's tick has queued it."""
    return f"{PREFIX}:periodic-due:{pipeline_id}"


def signal_dispatch(signal_id: str) -> str:
    """What the dispatcher made of a signal (services/shared/dispatch_record.py), read by
    `signal emit` and the explorer."""
    return f"{PREFIX}:signal-dispatch:{signal_id}"


# How long a DLQ entry's redrive is remembered: past the DLQ topic's retention (7 days).
DLQ_REDRIVEN_SECONDS = 30 * 24 * 3600


def dlq_redriven(dlq_topic: str, partition: int, offset: int) -> str:
    """Set once a DLQ entry is redriven (services/shared/dead_letters.py): a second redrive of
    it is refused."""
    return f"{PREFIX}:dlq-redriven:{dlq_topic}:{partition}:{offset}"
