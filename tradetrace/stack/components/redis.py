"""Redis from Debian's package: the Celery broker and the pipelines' running locks.

The Celery queue lives here, so Redis keeps it on disk (append-only file, fsync every second:
a crash loses at most the last second, which the executions table's reaper republishes) and
never evicts a key to make room (a full Redis refuses writes, and the services retry).
Closed: every client authenticates with the stack secret `redis`, given to the server in a
configuration file of mode 0600 (not on its command line, which `ps` shows).
"""

from __future__ import annotations

import socket
from urllib.parse import quote

from tradetrace.stack.components.base import Component
from tradetrace.stack.ports import HOST
from tradetrace.stack.process import Launch
from tradetrace.stack.secrets import stack_secret

MAXMEMORY = "512mb"


def password() -> str:
    return stack_secret("redis")


def redis_url(port: int, database: int = 0) -> str:
    """The URL of a Redis database on the native stack, with its password."""
    return f"redis://:{quote(password(), safe='')}@{HOST}:{port}/{database}"


class Redis(Component):
    name = "redis"
    debian_package = "redis-server"
    debian_binary = "redis-server"
    startup_timeout = 20.0

    def prepare(self) -> None:
        super().prepare()
        config = self.state / "redis.conf"
        config.touch(mode=0o600)
        config.chmod(0o600)
        config.write_text(f"requirepass {password()}\n")

    def launch(self) -> Launch:
        return Launch([
            "redis-server", str(self.state / "redis.conf"), "--bind", HOST, "--port",
            str(self.port),
            "--dir", str(self.data_dir), "--daemonize", "no", "--logfile", "",
            "--protected-mode", "yes",
            "--appendonly", "yes", "--appendfsync", "everysec",
            "--maxmemory", MAXMEMORY, "--maxmemory-policy", "noeviction",
        ])

    def healthy(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as conn:
                conn.sendall(f"AUTH {password()}\r\nPING\r\n".encode())
                replies = b""
                while replies.count(b"\r\n") < 2 and (chunk := conn.recv(64)):
                    replies += chunk
                return replies == b"+OK\r\n+PONG\r\n"
        except OSError:
            return False
