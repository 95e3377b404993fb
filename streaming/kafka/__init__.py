"""Everything that touches kafka-python: clients, bootstrap resolution and the topic catalog."""

from kafka.structs import OffsetAndMetadata, TopicPartition

from streaming.kafka.bootstrap import resolve_bootstrap
from streaming.kafka.clients import make_admin, make_consumer, make_producer
from streaming.kafka.topics import TOPIC_CATALOG, TopicSpec, ensure_topics, topic_specs

__all__ = [
    "TOPIC_CATALOG",
    "OffsetAndMetadata",
    "TopicPartition",
    "TopicSpec",
    "ensure_topics",
    "make_admin",
    "make_consumer",
    "make_producer",
    "resolve_bootstrap",
    "topic_specs",
]
