"""How the core tells Kafka errors apart without importing kafka-python itself."""

from __future__ import annotations

from kafka.errors import KafkaError, RebalanceInProgressError

__all__ = ["KafkaError", "is_producer_fenced", "is_rebalance_in_progress"]


def is_producer_fenced(error: BaseException) -> bool:
    """Another process took over this transactional id (ProducerFenced, InvalidProducerEpoch...).

    >>> is_producer_fenced(KafkaError())
    False
    """
    name = type(error).__name__
    return "Fenced" in name and "Producer" in name


def is_rebalance_in_progress(error: BaseException) -> bool:
    """A commit refused because the group is between two rounds of a (cooperative) rebalance."""
    return isinstance(error, RebalanceInProgressError)
