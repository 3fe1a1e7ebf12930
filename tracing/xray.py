"""The X-Ray trace header (`X-Amzn-Trace-Id`) as AWS defines it, over any carrier.

The stock AwsXRayPropagator looks the header up under one spelling and reads a header whose
`Sampled` is `?` or absent as "not sampled" (or drops it). X-Ray defines those two as "the
receiver decides": here the trace continues and the receiver's decision is to record it,
as every head-sampling decision of ours is (the collector tail-samples what is kept).
`Sampled=0` stays "not sampled", and `Sampled=1` sampled.
"""

from __future__ import annotations

import typing

from opentelemetry.context import Context
from opentelemetry.propagators.aws import AwsXRayPropagator
from opentelemetry.propagators.aws.aws_xray_propagator import TRACE_HEADER_KEY
from opentelemetry.propagators.textmap import CarrierT, Getter, default_getter

SAMPLED = "Sampled"


def _header(carrier: CarrierT, getter: Getter[CarrierT]) -> str | None:
    """The header's one value under any spelling of its name (proxies lower-case names)."""
    values = getter.get(carrier, TRACE_HEADER_KEY)
    if not values:
        wanted = TRACE_HEADER_KEY.lower()
        spelled = next((key for key in _names(carrier, getter) if key.lower() == wanted), None)
        values = getter.get(carrier, spelled) if spelled else None
    return values[0] if values and len(values) == 1 else None


def _names(carrier: CarrierT, getter: Getter[CarrierT]) -> list[str]:
    """The carrier's header names. Celery's getter lists none: its carrier is the task's
    request, whose attributes are the message headers."""
    names = list(getter.keys(carrier))
    if not names and not isinstance(carrier, dict) and hasattr(carrier, "__dict__"):
        names = [name for name in vars(carrier) if isinstance(name, str)]
    return names


def _with_receiver_decision(header: str) -> str:
    """`Sampled=?` or no `Sampled` becomes `Sampled=1`: the decision is then this process's."""
    fields = [part.strip() for part in header.split(";") if part.strip()]
    decided = [f for f in fields if f.split("=", 1)[0] == SAMPLED and f != f"{SAMPLED}=?"]
    if decided:
        return header
    return ";".join([f for f in fields if f.split("=", 1)[0] != SAMPLED] + [f"{SAMPLED}=1"])


class _OneHeader(Getter[typing.Any]):
    def __init__(self, value: str) -> None:
        self.value = value

    def get(self, carrier: typing.Any, key: str) -> list[str] | None:
        return [self.value] if key == TRACE_HEADER_KEY else None

    def keys(self, carrier: typing.Any) -> list[str]:
        return [TRACE_HEADER_KEY]


class XRayPropagator(AwsXRayPropagator):
    def extract(self, carrier: CarrierT, context: Context | None = None,
                getter: Getter[CarrierT] = default_getter) -> Context:
        header = _header(carrier, getter)
        if header is None:
            return context if context is not None else Context()
        return super().extract(carrier, context=context,
                               getter=_OneHeader(_with_receiver_decision(header)))
