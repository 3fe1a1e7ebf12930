"""Ports for processes a test starts beside the stack."""

from __future__ import annotations

import socket

from tradetrace.stack.ports import HOST


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]
