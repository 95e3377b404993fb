"""kafka-python's value types, named once here so that the rest of the project never imports kafka."""

from __future__ import annotations

from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata, TopicPartition

__all__ = ["ConsumerRecord", "OffsetAndMetadata", "TopicPartition", "offset_and_metadata", "offsets_metadata"]


def offset_and_metadata(offset: int) -> OffsetAndMetadata:
    """The committed-offset value for `offset` (no metadata, no leader epoch).

    >>> offset_and_metadata(42).offset
    42
    """
    return OffsetAndMetadata(offset, "", -1)


def offsets_metadata(offsets: dict[TopicPartition, int]) -> dict[TopicPartition, OffsetAndMetadata]:
    return {partition: offset_and_metadata(offset) for partition, offset in offsets.items()}
