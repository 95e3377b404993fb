"""Broker selection for the whole suite, and per-test isolation by topic prefix.

Which broker the suite uses, in this order:
1. `KAFKA_BOOTSTRAP_SERVERS`: an external cluster;
2. a testcontainers Kafka (KRaft) when a Docker daemon answers;
3. the embedded local broker, started on demand (and stopped at the end if this session started it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from streaming.config import Settings
from tests.support.brokers import BrokerHandle, select_broker


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[BrokerHandle]:
    handle = select_broker()
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: BrokerHandle) -> str:
    return kafka_broker.bootstrap


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def settings(kafka_bootstrap: str, topic_prefix: str, tmp_path: os.PathLike[str]) -> Settings:
    """Settings bound to the session's broker, with a topic prefix of this test's own."""
    return Settings(
        kafka={"bootstrap_servers": kafka_bootstrap},
        topics={"prefix": topic_prefix},
        processing={"state_dir": str(tmp_path) + "/state", "commit_interval_ms": 100},
    )


@pytest.fixture
def topics(settings: Settings) -> Settings:
    """`settings`, with every catalog topic created."""
    from streaming.kafka import ensure_topics, make_admin

    admin = make_admin(settings, settings.kafka.bootstrap_servers or "")
    try:
        ensure_topics(admin, settings)
    finally:
        admin.close()
    return settings
