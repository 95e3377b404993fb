"""Consumer lag per partition, refreshed every `lag_refresh_seconds`."""

from __future__ import annotations

import time

from streaming.app.rebalance import RebalanceTracker
from streaming.kafka import GroupConsumer, KafkaError, TopicPartition
from streaming.metrics import CONSUMER_LAG


class LagMonitor:
    """Sets `streaming_consumer_lag_records` for each owned partition: log end minus where processing
    stands."""

    def __init__(self, service: str, tracker: RebalanceTracker, interval_seconds: float) -> None:
        self.service = service
        self.tracker = tracker
        self.interval_seconds = interval_seconds
        self._last = 0.0

    def refresh_if_due(self, consumer: GroupConsumer) -> None:
        if time.monotonic() - self._last < self.interval_seconds:
            return
        self._last = time.monotonic()
        owned = list(self.tracker.assigned)
        if not owned:
            return
        try:
            ends = consumer.end_offsets(owned)
        except KafkaError:
            return
        for partition, end in ends.items():
            # Every record a poll returned is processed before this runs, so the consumer's own position
            # is where processing stands; unlike the last processed offset + 1, it steps over the commit
            # markers of transactional inputs, which otherwise read as a lag of one forever.
            try:
                position = max(consumer.position(partition), self.tracker.positions.get(partition, 0))
            except KafkaError:
                continue
            CONSUMER_LAG.labels(self.service, partition.topic, str(partition.partition)).set(
                max(0, end - position)
            )

    def forget(self, partitions: list[TopicPartition]) -> None:
        known = {tuple(labels) for labels in CONSUMER_LAG._metrics}
        for partition in partitions:
            labels = (self.service, partition.topic, str(partition.partition))
            if labels in known:
                CONSUMER_LAG.remove(*labels)
