"""A Kafka producer that can write what the Python client refuses to: header names that are
not UTF-8. confluent-kafka turns a bytes header name into the text of its repr, so a foreign
producer's raw bytes are written here through librdkafka itself (the copy confluent-kafka
ships), with ctypes. Used only by the poison-message tests."""

from __future__ import annotations

import ctypes
import glob
import os

import confluent_kafka

_VTYPE_END, _VTYPE_TOPIC, _VTYPE_VALUE, _VTYPE_KEY, _VTYPE_HEADER = 0, 1, 4, 5, 9
_MSG_F_COPY = 0x2


def _library() -> ctypes.CDLL:
    package = os.path.dirname(confluent_kafka.__file__)
    found = glob.glob(os.path.join(package, os.pardir, "confluent_kafka.libs", "librdkafka*.so*"))
    if not found:
        raise RuntimeError("librdkafka not found beside confluent_kafka")
    lib = ctypes.CDLL(found[0])
    lib.rd_kafka_conf_new.restype = ctypes.c_void_p
    lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                      ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_new.restype = ctypes.c_void_p
    lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_producev.restype = ctypes.c_int
    lib.rd_kafka_flush.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.rd_kafka_outq_len.argtypes = [ctypes.c_void_p]
    lib.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
    return lib


class RawProducer:
    def __init__(self, bootstrap_servers: str) -> None:
        self.lib = _library()
        conf = self.lib.rd_kafka_conf_new()
        error = ctypes.create_string_buffer(512)
        for name, value in (("bootstrap.servers", bootstrap_servers),
                            ("message.max.bytes", str(2 * 1024 * 1024))):
            if self.lib.rd_kafka_conf_set(conf, name.encode(), value.encode(), error, 512) != 0:
                raise RuntimeError(error.value.decode())
        self.handle = self.lib.rd_kafka_new(0, conf, error, 512)   # 0: RD_KAFKA_PRODUCER
        if not self.handle:
            raise RuntimeError(error.value.decode())

    def produce(self, topic: str, value: bytes | None, key: bytes | None,
                headers: list[tuple[bytes, bytes | None]]) -> None:
        """Header names: any bytes but NUL (librdkafka takes them as C strings)."""
        args: list = [ctypes.c_int(_VTYPE_TOPIC), ctypes.c_char_p(topic.encode()),
                      ctypes.c_int(7), ctypes.c_int(_MSG_F_COPY)]       # 7: MSGFLAGS
        if value is not None:
            args += [ctypes.c_int(_VTYPE_VALUE), ctypes.c_char_p(value),
                     ctypes.c_size_t(len(value))]
        if key is not None:
            args += [ctypes.c_int(_VTYPE_KEY), ctypes.c_char_p(key), ctypes.c_size_t(len(key))]
        for name, header_value in headers:
            args += [ctypes.c_int(_VTYPE_HEADER), ctypes.c_char_p(name),
                     ctypes.c_char_p(header_value),
                     ctypes.c_ssize_t(-1 if header_value is None else len(header_value))]
        args.append(ctypes.c_int(_VTYPE_END))
        code = self.lib.rd_kafka_producev(ctypes.c_void_p(self.handle), *args)
        if code != 0:
            raise RuntimeError(f"rd_kafka_producev failed: error code {code}")

    def flush(self, timeout_seconds: float = 30) -> int:
        self.lib.rd_kafka_flush(ctypes.c_void_p(self.handle), int(timeout_seconds * 1000))
        return self.lib.rd_kafka_outq_len(ctypes.c_void_p(self.handle))

    def close(self) -> None:
        self.lib.rd_kafka_destroy(ctypes.c_void_p(self.handle))
