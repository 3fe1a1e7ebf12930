"""An export request: items grouped by resource, then by instrumentation scope.

ExportTraceServiceRequest and ExportLogsServiceRequest share one shape, tag for tag:
request { repeated Resource<X> = 1 }, Resource<X> { resource = 1; repeated Scope<X> = 2;
schema_url = 3 }, Scope<X> { scope = 1; repeated <item> = 2; schema_url = 3 }. Groups keep the
order in which their first item came, as the stock encoder's dicts do; a resource's and a
scope's bytes are computed once per process (both are immutable), not once per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from tracing.otlp import wire

_FIELD_1 = b"\x0a"
_FIELD_2 = b"\x12"
_FIELD_3 = b"\x1a"


class Exported(Protocol):
    """What spans and log records both have: where they came from."""

    @property
    def resource(self) -> Resource: ...

    @property
    def instrumentation_scope(self) -> InstrumentationScope | None: ...


Item = TypeVar("Item", bound=Exported)

# Encoded resources and scopes, keyed as the stock encoder groups them (hash and equality).
_KEPT = 256
_resources: dict[Resource, bytes] = {}
_scopes: dict[Any, bytes] = {}


def _remembered(cache: dict[Any, bytes], key: Any, encode: Callable[[Any], bytes]) -> bytes:
    encoded = cache.get(key)
    if encoded is None:
        encoded = wire.delimited(_FIELD_1, encode(key))
        if len(cache) >= _KEPT:
            cache.clear()
        cache[key] = encoded
    return encoded


def encode_request(items: Iterable[Item], encode_item: Callable[[Item], bytes]) -> bytes:
    """The serialized request for `items`, each written by `encode_item`."""
    groups: dict[Resource, dict[InstrumentationScope | None, list[bytes]]] = {}
    last_resource: Resource | None = None
    last_scope: InstrumentationScope | None = None
    last_group: list[bytes] = []
    for item in items:
        sdk_resource = item.resource
        sdk_scope = item.instrumentation_scope or None
        # Spans of one batch nearly always share both: skip the two lookups.
        if sdk_resource is not last_resource or sdk_scope is not last_scope:
            scopes = groups.setdefault(sdk_resource, {})
            last_group = scopes.setdefault(sdk_scope, [])
            last_resource, last_scope = sdk_resource, sdk_scope
        last_group.append(wire.delimited(_FIELD_2, encode_item(item)))
    return b"".join([_resource_group(sdk_resource, scopes)
                     for sdk_resource, scopes in groups.items()])


def _resource_group(sdk_resource: Resource,
                    scopes: dict[InstrumentationScope | None, list[bytes]]) -> bytes:
    """Resource<X> { resource = 1; repeated Scope<X> = 2; schema_url = 3 }."""
    return wire.delimited(_FIELD_1, _remembered(_resources, sdk_resource, wire.resource)
                          + b"".join([_scope_group(sdk_scope, encoded)
                                      for sdk_scope, encoded in scopes.items()])
                          + wire.string_field(_FIELD_3, sdk_resource.schema_url))


def _scope_group(sdk_scope: InstrumentationScope | None, encoded: list[bytes]) -> bytes:
    """Scope<X> { scope = 1; repeated <item> = 2; schema_url = 3 }."""
    return wire.delimited(_FIELD_2, _remembered(_scopes, sdk_scope, wire.scope)
                          + b"".join(encoded)
                          + wire.string_field(_FIELD_3, sdk_scope.schema_url if sdk_scope
                                              else None))
