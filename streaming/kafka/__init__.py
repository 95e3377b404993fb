"""Everything that touches kafka-python: clients, the group consumer and output producer of the consume
loop, bootstrap resolution, topic creation, admin questions, time ranges, group offsets, partitioning.

No module outside this package imports kafka-python.
"""

from streaming.kafka.admin import (
    cluster_answers,
    committed_offsets,
    delete_topics,
    partition_count,
    topic_configs,
)
from streaming.kafka.bootstrap import resolve_bootstrap, with_bootstrap
from streaming.kafka.clients import make_admin, make_consumer, make_producer
from streaming.kafka.errors import KafkaError, is_producer_fenced, is_rebalance_in_progress
from streaming.kafka.group import GroupConsumer
from streaming.kafka.output import OutputProducer
from streaming.kafka.reading import TopicTail, read_partition, read_topic
from streaming.kafka.structs import ConsumerRecord, OffsetAndMetadata, TopicPartition, offset_and_metadata
from streaming.kafka.timerange import TimeRangeBatches, edge_timestamps
from streaming.kafka.topics import changelog_topic, ensure_topics, topic_specs

__all__ = [
    "ConsumerRecord",
    "GroupConsumer",
    "KafkaError",
    "OffsetAndMetadata",
    "OutputProducer",
    "TimeRangeBatches",
    "TopicPartition",
    "TopicTail",
    "changelog_topic",
    "cluster_answers",
    "committed_offsets",
    "delete_topics",
    "edge_timestamps",
    "ensure_topics",
    "is_producer_fenced",
    "is_rebalance_in_progress",
    "make_admin",
    "make_consumer",
    "make_producer",
    "offset_and_metadata",
    "partition_count",
    "read_partition",
    "read_topic",
    "resolve_bootstrap",
    "topic_configs",
    "topic_specs",
    "with_bootstrap",
]
