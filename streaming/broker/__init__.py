"""The embedded single-node Apache Kafka broker (KRaft), run from jars resolved by Maven."""

from streaming.broker.local import BrokerError, BrokerStatus, LocalBroker

__all__ = ["BrokerError", "BrokerStatus", "LocalBroker"]
