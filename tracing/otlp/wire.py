"""The protobuf wire format, as much of it as OTLP needs, and the messages of common.proto.

Every function returns `bytes` ready to be joined. Field order and presence follow what the
stock encoder's protobuf runtime (upb) writes: fields in number order, proto3 defaults left out,
except where the stock encoder sets a message or a oneof explicitly (an empty `Status`, an
`AnyValue` holding `""`, `False` or `0`), which upb writes with its tag.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

_log = logging.getLogger(__name__)

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT64 = 1 << 64

_pack_fixed64 = struct.Struct("<Q").pack
_pack_fixed32 = struct.Struct("<I").pack
_pack_double = struct.Struct("<d").pack

# Lengths and small numbers are nearly always below 128: one byte, from a table.
_ONE_BYTE = [bytes((n,)) for n in range(128)]


def varint(value: int) -> bytes:
    """A non-negative integer as a base-128 varint."""
    if value < 128:
        return _ONE_BYTE[value]
    out = bytearray()
    while value > 127:
        out.append((value & 127) | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def fixed32(value: int) -> bytes:
    return _pack_fixed32(value)


def delimited(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload (strings, bytes, messages)."""
    return tag + varint(len(payload)) + payload


# AnyValue's oneof (common.proto): its tags, each written even for a default value.
_STRING = b"\x0a"
_BOOL_TRUE = b"\x10\x01"
_BOOL_FALSE = b"\x10\x00"
_INT = b"\x18"
_DOUBLE = b"\x21"
_ARRAY = b"\x2a"
_KVLIST = b"\x32"
_BYTES = b"\x3a"
# ArrayValue.values, KeyValueList.values, KeyValue.key: field 1; KeyValue.value: field 2.
_FIRST = b"\x0a"
_VALUE = b"\x12"


def any_value(value: Any) -> bytes:
    """The AnyValue message for one Python value, in the stock encoder's order of checks (bool
    before int, str and bytes before Sequence). Raises as it does: ValueError for an int outside
    int64, UnicodeEncodeError for a lone surrogate, Exception for an unknown type."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return _BOOL_TRUE if value else _BOOL_FALSE
    if isinstance(value, str):
        return delimited(_STRING, value.encode())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"Value out of range: {value}")
        return _INT + varint(value if value >= 0 else value + _UINT64)
    if isinstance(value, float):
        return _DOUBLE + _pack_double(value)
    if isinstance(value, bytes):
        return delimited(_BYTES, value)
    if isinstance(value, Sequence):
        return delimited(_ARRAY, b"".join([delimited(_FIRST, any_value(v)) for v in value]))
    if isinstance(value, Mapping):
        return delimited(_KVLIST, b"".join([delimited(_FIRST, key_value(str(k), v))
                                            for k, v in value.items()]))
    raise Exception(f"Invalid type {type(value)} of value {value}")  # noqa: TRY002 - the stock's


# A key's bytes (tag, length, UTF-8) recur in every span, and so do many whole attributes
# (messaging.system=kafka, a ticker, a service's names): both kept, up to a bound.
_KEYS: dict[str, bytes] = {}
_PAIRS: dict[tuple[str, Any], bytes] = {}
_KEPT = 4096


def _key(key: str) -> bytes:
    encoded = _KEYS.get(key)
    if encoded is None:
        encoded = delimited(_FIRST, key.encode()) if key else b""
        if len(_KEYS) >= _KEPT:
            _KEYS.clear()
        _KEYS[key] = encoded
    return encoded


def key_value(key: str, value: Any) -> bytes:
    return _key(key) + delimited(_VALUE, any_value(value))


def _short_string_pair(key: str, value: str) -> bytes:
    """A KeyValue with a short string value: the kind that repeats, so it is kept."""
    pair = _PAIRS.get((key, value))
    if pair is None:
        pair = key_value(key, value)
        if len(_PAIRS) >= _KEPT:
            _PAIRS.clear()
        _PAIRS[(key, value)] = pair
    return pair


def plain(attrs: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The dict behind the SDK's BoundedAttributes (SDK internals, checked at start-up by
    tracing/otlp/exporters.py): iterating the MutableMapping itself goes through Python-level
    __iter__ and __getitem__ for every attribute."""
    inner = getattr(attrs, "_dict", None)
    return inner if isinstance(inner, dict) else attrs


def attributes(tag: bytes, attrs: Mapping[str, Any] | None) -> bytes:
    """A repeated KeyValue field. An attribute that cannot be encoded is left out and logged,
    as the stock encoder does. Strings and ints, nearly every attribute, take a short path."""
    if not attrs:
        return b""
    parts = []
    for key, value in plain(attrs).items():  # type: ignore[union-attr]
        kind = type(value)
        try:
            if kind is str and len(value) <= 32:
                pair = _short_string_pair(key, value)
            elif kind is int and 0 <= value <= _INT64_MAX:
                number = _INT + varint(value)
                pair = _key(key) + _VALUE + _ONE_BYTE[len(number)] + number
            else:
                pair = key_value(key, value)
        except Exception as error:  # noqa: BLE001 - the stock encoder's behaviour
            _log.exception("Failed to encode key %s: %s", key, error)
            continue
        parts.append(tag + varint(len(pair)) + pair)
    return b"".join(parts)


def uint_field(tag: bytes, value: int | None) -> bytes:
    """A varint field, left out at 0 (proto3)."""
    return tag + varint(value) if value else b""


def fixed64_field(tag: bytes, value: int | None) -> bytes:
    """A fixed64 field (the timestamps), left out at 0 (proto3)."""
    return tag + _pack_fixed64(value) if value else b""


def string_field(tag: bytes, value: str | None) -> bytes:
    """A string field, left out when empty (proto3)."""
    return delimited(tag, value.encode()) if value else b""


def resource(sdk_resource: Resource) -> bytes:
    """Resource { repeated KeyValue attributes = 1 }: the stock encoder writes no dropped
    count."""
    return attributes(b"\x0a", sdk_resource.attributes)


def scope(sdk_scope: InstrumentationScope | None) -> bytes:
    """InstrumentationScope { name = 1; version = 2; attributes = 3 }."""
    if sdk_scope is None:
        return b""
    return (string_field(b"\x0a", sdk_scope.name) + string_field(b"\x12", sdk_scope.version)
            + attributes(b"\x1a", sdk_scope.attributes))
