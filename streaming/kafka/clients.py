"""kafka-python clients with the project's conventions: idempotent producers, manual commits."""

from __future__ import annotations

import os
import socket
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from streaming.config import Settings


def client_id(settings: Settings, role: str) -> str:
    return f"{settings.kafka.client_id_prefix}-{role}-{socket.gethostname()}-{os.getpid()}"


def make_producer(
    settings: Settings,
    bootstrap: str,
    role: str = "producer",
    transactional_id: str | None = None,
    **overrides: Any,
) -> KafkaProducer:
    """An idempotent producer with acks=all. With `transactional_id`, a transactional one."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": client_id(settings, role),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": settings.kafka.linger_ms,
        "batch_size": settings.kafka.batch_size,
        "max_request_size": max(4 * 1024 * 1024, settings.topics.max_message_bytes * 2),
        "retries": 2_147_483_647,
        "delivery_timeout_ms": 120_000,
        **settings.kafka.client_options(),
    }
    if settings.kafka.compression_type:
        options["compression_type"] = settings.kafka.compression_type
    if transactional_id is not None:
        options["transactional_id"] = transactional_id
        options["transaction_timeout_ms"] = 60_000
    options.update(overrides)
    return KafkaProducer(**options)


def make_consumer(
    settings: Settings,
    bootstrap: str,
    group_id: str | None,
    role: str = "consumer",
    isolation_level: str = "read_committed",
    **overrides: Any,
) -> KafkaConsumer:
    """A consumer with manual commits, reading only committed transactional data by default."""
    processing = settings.processing
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": client_id(settings, role),
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": processing.auto_offset_reset,
        "isolation_level": isolation_level,
        "max_poll_records": processing.max_poll_records,
        "max_poll_interval_ms": processing.max_poll_interval_ms,
        "session_timeout_ms": processing.session_timeout_ms,
        "heartbeat_interval_ms": processing.heartbeat_interval_ms,
        "fetch_max_wait_ms": processing.fetch_max_wait_ms,
        "fetch_max_bytes": 64 * 1024 * 1024,
        "max_partition_fetch_bytes": 8 * 1024 * 1024,
        **settings.kafka.client_options(),
    }
    options.update(overrides)
    return KafkaConsumer(**options)


def make_admin(settings: Settings, bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id=client_id(settings, "admin"), **settings.kafka.client_options()
    )
