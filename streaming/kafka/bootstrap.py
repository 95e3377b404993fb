"""Which broker a command talks to.

1. `--bootstrap`, `STREAMING_KAFKA__BOOTSTRAP_SERVERS` or `KAFKA_BOOTSTRAP_SERVERS`: an external cluster.
2. Otherwise the embedded local broker, started on demand (unless `broker.auto_start` is off).

Tests add a step in between: a testcontainers Kafka when a Docker daemon answers (see tests/conftest.py).
"""

from __future__ import annotations

from streaming.broker import BrokerError, LocalBroker
from streaming.config import Settings


def resolve_bootstrap(settings: Settings, start_local: bool | None = None) -> str:
    """The bootstrap address to use, starting the local broker when nothing else is configured."""
    if settings.kafka.bootstrap_servers:
        return settings.kafka.bootstrap_servers
    broker = LocalBroker(settings.broker)
    should_start = settings.broker.auto_start if start_local is None else start_local
    if should_start:
        return broker.start()
    if broker.status().answering:
        return broker.bootstrap
    raise BrokerError(
        "no Kafka configured: set KAFKA_BOOTSTRAP_SERVERS, pass --bootstrap, or run `streaming broker start`"
    )


def with_bootstrap(settings: Settings, bootstrap: str | None) -> Settings:
    """A copy of the settings that talks to `bootstrap` (from a --bootstrap flag), if given."""
    if not bootstrap:
        return settings
    kafka = settings.kafka.model_copy(update={"bootstrap_servers": bootstrap})
    return settings.model_copy(update={"kafka": kafka})
