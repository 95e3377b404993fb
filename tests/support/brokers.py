"""The broker a test session talks to, chosen in the documented order."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

from streaming.broker import LocalBroker
from streaming.config import BrokerSettings

log = logging.getLogger(__name__)


@dataclass
class BrokerHandle:
    bootstrap: str
    source: str  # "environment", "testcontainers" or "local"
    _close: Any = field(default=None, repr=False)

    def close(self) -> None:
        if self._close is not None:
            self._close()


def docker_daemon_answers() -> bool:
    """True only when a Docker daemon responds; a docker CLI alone is not enough."""
    try:
        import docker  # type: ignore[import-untyped]
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def select_broker(
    environ: dict[str, str] | None = None, local_settings: BrokerSettings | None = None
) -> BrokerHandle:
    environ = dict(os.environ) if environ is None else environ
    external = environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        return BrokerHandle(external, "environment")
    if docker_daemon_answers():
        from testcontainers.community.kafka import KafkaContainer

        container = KafkaContainer().with_kraft()
        container.start()
        return BrokerHandle(container.get_bootstrap_server(), "testcontainers", container.stop)
    broker = LocalBroker(local_settings or BrokerSettings())
    already_running = broker.status().running
    bootstrap = broker.start()
    # Leave a broker someone else started alone; stop the one this session started.
    return BrokerHandle(bootstrap, "local", None if already_running else broker.stop)


def free_port_pair() -> int:
    """A port whose next one is free too (the local broker's controller listens on port + 1), below the
    ephemeral range: a client reconnecting to a killed broker's port could otherwise be handed that very
    port as its own local port, connect to itself, and keep the port taken."""
    import random
    import socket
    from pathlib import Path

    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ephemeral.read_text().split()[0]) if ephemeral.is_file() else 32768
    chooser = random.Random()
    for _ in range(200):
        port = chooser.randrange(max(1024, low - 12_000), low - 2)
        try:
            for candidate in (port, port + 1):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free pair of ports below the ephemeral range")


def killable_broker(data_dir: Any) -> LocalBroker:
    """A local broker of a test's own, on free ports, that the test may kill -9 and start again. It shares
    the jar cache with the session's broker and keeps its data in `data_dir`."""
    return LocalBroker(BrokerSettings(port=free_port_pair(), data_dir=data_dir, heap="512m"))
