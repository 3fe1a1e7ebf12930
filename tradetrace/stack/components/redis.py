"""Redis from Debian's package: the Celery broker and the pipelines' running locks.

The Celery queue lives here, so Redis keeps it on disk (append-only file, fsync every second:
a crash loses at most the last second, which the executions table's reaper republishes) and
never evicts a key to make room (a full Redis refuses writes, and the services retry).
"""

from __future__ import annotations

import socket

from tradetrace.stack.components.base import Component
from tradetrace.stack.ports import HOST
from tradetrace.stack.process import Launch

MAXMEMORY = "512mb"


class Redis(Component):
    name = "redis"
    debian_package = "redis-server"
    debian_binary = "redis-server"
    startup_timeout = 20.0

    def launch(self) -> Launch:
        return Launch([
            "redis-server", "--bind", HOST, "--port", str(self.port),
            "--dir", str(self.data_dir), "--daemonize", "no", "--logfile", "",
            "--protected-mode", "yes",
            "--appendonly", "yes", "--appendfsync", "everysec",
            "--maxmemory", MAXMEMORY, "--maxmemory-policy", "noeviction",
        ])

    def healthy(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False
