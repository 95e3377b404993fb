"""Loopback ports for servers that a run starts: outside the kernel's ephemeral range, never handed out twice.

Binding port 0 and closing the socket returns a port from the ephemeral range, which is the range the kernel
also hands to outgoing connections. A demo opens hundreds of Kafka connections between choosing a port and
the service binding it, so such a port is sometimes taken by then (seen: a service's /metrics endpoint
failing with "Address already in use", and Prometheus scraping another service on a port chosen twice).
Ports below the ephemeral range are only ever taken by listeners, and each one is handed out once per process.

Examples
--------
>>> from streaming.ports import ephemeral_range, free_listening_port
>>> first, second = free_listening_port(), free_listening_port()
>>> first != second and first < ephemeral_range()[0]
True

"""

from __future__ import annotations

import random
import socket
import threading
from pathlib import Path

__all__ = ["ephemeral_range", "free_listening_port"]

LOWEST_PORT = 10_000
DEFAULT_EPHEMERAL_RANGE = (32_768, 60_999)
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")

_handed_out: set[int] = set()
_lock = threading.Lock()


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux default 32768-60999)."""
    try:
        low, high = (int(word) for word in EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return DEFAULT_EPHEMERAL_RANGE
    return low, high


def _can_bind(port: int, host: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_listening_port(host: str = "127.0.0.1", attempts: int = 200) -> int:
    """A port nobody listens on, below the ephemeral range, not returned before by this process.

    Parameters
    ----------
    host
        The address the server will bind.
    attempts
        How many random candidates to try before falling back to one the kernel picks.

    """
    low, _high = ephemeral_range()
    candidates_high = low - 1 if low - 1 > LOWEST_PORT + 1000 else 0
    with _lock:
        if candidates_high:
            for _ in range(attempts):
                port = random.randint(LOWEST_PORT, candidates_high)
                if port not in _handed_out and _can_bind(port, host):
                    _handed_out.add(port)
                    return port
        # A host whose ephemeral range starts low: let the kernel choose, still never twice.
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((host, 0))
                port = int(probe.getsockname()[1])
            if port not in _handed_out:
                _handed_out.add(port)
                return port
