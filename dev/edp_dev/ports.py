"""Loopback ports for the servers the local target starts (PostgreSQL, the AWS emulator)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nobody listens on right now, chosen by the kernel."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
