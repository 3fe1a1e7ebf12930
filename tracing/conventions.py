"""Semantic-convention attributes an upstream instrumentation leaves out, added at span start.

The Celery instrumentation (0.66b1) writes the old `messaging.destination` key and no
`messaging.system`, so the service graph's Celery edges (dispatcher -> worker) had an empty
`messaging.system` and could not be told from Kafka's. This processor names the system on
every span of that instrumentation, in the SDK, so the stored spans, the service graph and
X-Ray all see it.
"""

from __future__ import annotations

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from tracing import attributes as attr

CELERY_SCOPE = "opentelemetry.instrumentation.celery"
CELERY_SYSTEM = "celery"    # no registered value for Celery; the instrumentation's own name


class MessagingSystemProcessor(SpanProcessor):
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        scope = span.instrumentation_scope
        if scope is not None and scope.name == CELERY_SCOPE:
            span.set_attribute(attr.MESSAGING_SYSTEM, CELERY_SYSTEM)

    def on_end(self, span: ReadableSpan) -> None:
        pass
