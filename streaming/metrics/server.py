"""The /metrics endpoint each service serves."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)


def start_metrics_server(port: int, address: str = "127.0.0.1") -> int | None:
    """Serve /metrics on address:port (port 0 picks a free one). Returns the bound port, None on failure."""
    try:
        server, _thread = start_http_server(port, addr=address)
    except OSError as error:
        log.warning("metrics endpoint %s:%s unavailable: %s", address, port, error)
        return None
    return int(server.server_port)
