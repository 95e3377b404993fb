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
