"""A real Prometheus for tests: started on loopback, scraping the given targets every second.

The server itself is `streaming.demo.prometheus.PrometheusServer` (the demo runs the same one); this module
adds what tests need on top: a missing binary is an error (never a skip), and waiting for a series.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from streaming.demo.prometheus import PrometheusServer, find_prometheus, free_port

__all__ = ["PrometheusServer", "free_port", "require_binary", "running_prometheus", "wait_for_series"]


def require_binary(name: str = "prometheus") -> str:
    """The path of a Prometheus tool; fails the test when it is missing (run `make observability-tools`)."""
    import shutil

    path = find_prometheus() if name == "prometheus" else shutil.which(name) or f"/usr/bin/{name}"
    if not path or not Path(path).is_file():
        raise AssertionError(f"{name} is not installed: `make observability-tools` installs it from Debian")
    return path


@contextmanager
def running_prometheus(targets: Mapping[str, str], data_dir: Path) -> Iterator[PrometheusServer]:
    """A started Prometheus scraping `targets` ({job: host:port}); stopped when the block ends."""
    server = PrometheusServer(targets, data_dir=data_dir, binary=require_binary())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for_series(
    server: PrometheusServer, expr: str, timeout_seconds: float = 20.0, interval_seconds: float = 0.5
) -> list[dict[str, Any]]:
    """Query until the result is non-empty or the time is up; returns the last result."""
    deadline = time.monotonic() + timeout_seconds
    result = server.query(expr)
    while not result and time.monotonic() < deadline:
        time.sleep(interval_seconds)
        result = server.query(expr)
    return result
