"""Cluster and topic questions the tools ask: is a broker there, how is a topic configured, what has a
group committed."""

from __future__ import annotations

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from streaming.kafka.errors import KafkaError
from streaming.kafka.structs import TopicPartition


def cluster_answers(bootstrap: str, timeout_seconds: float = 5.0, client_id: str = "streaming-probe") -> bool:
    """True when a broker answers a metadata request and the cluster has a controller."""
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_seconds * 1000), client_id=client_id
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        cluster = admin.describe_cluster()
        return bool(cluster.get("brokers")) and cluster.get("controller_id", -1) != -1
    except (KafkaError, OSError, ValueError):
        return False
    finally:
        admin.close()


def topic_configs(admin: KafkaAdminClient, topic: str, names: tuple[str, ...]) -> dict[str, str]:
    """The named configs of a topic, those the broker reports."""
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, dict.fromkeys(names))
    described = admin.describe_configs([resource], config_filter="all")["topic"][topic]
    return {name: str(described[name]["value"]) for name in names if name in described}


def partition_count(admin: KafkaAdminClient, topic: str) -> int:
    described = admin.describe_topics([topic])
    return len(described[0]["partitions"])


def committed_offsets(admin: KafkaAdminClient, group: str) -> dict[TopicPartition, int]:
    """What `group` has committed, by partition (empty for a group that never committed)."""
    offsets = admin.list_group_offsets({group: None}).get(group, {})
    return {partition: int(value.offset) for partition, value in offsets.items() if value.offset >= 0}


def delete_topics(admin: KafkaAdminClient, topics: list[str]) -> list[str]:
    """Delete the topics that exist; returns those deleted."""
    existing = set(admin.list_topics())
    doomed = [topic for topic in topics if topic in existing]
    if doomed:
        admin.delete_topics(doomed)
    return doomed
