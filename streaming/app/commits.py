"""How outputs, state and input offsets become durable together: the commit strategies.

- `ExactlyOnce`: one Kafka transaction holds the outputs, the changelog records and the input offsets
  (`send_offsets_to_transaction`); readers use read_committed. A crash aborts the open transaction.
- `AtLeastOnce`: outputs are flushed (acknowledged) before the offsets are committed.
- `Checkpointed` (streaming/app/checkpoints.py): offsets are owned by file checkpoints of the whole state.

A strategy raises `CommitFailed` when the group moved on without this member (e.g. an eviction): the loop
then drops what was processed since the last commit and resumes from the committed offsets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from streaming.app.processor import Offsets, Processor
from streaming.app.rebalance import RebalanceTracker
from streaming.kafka import (
    GroupConsumer,
    KafkaError,
    OutputProducer,
    TopicPartition,
    is_producer_fenced,
    is_rebalance_in_progress,
)
from streaming.metrics import COMMIT_SECONDS
from streaming.state import ChangelogStore

log = logging.getLogger(__name__)


class ProducerFenced(RuntimeError):
    """Another process took over this transactional id (same group and instance id)."""


class CommitFailed(RuntimeError):
    """The commit was refused; what was processed since the last one does not count."""


class OutputFailed(CommitFailed):
    """A send failed, or the producer lost its transaction: nothing since the last commit may become
    durable. The producer is replaced before the next transaction."""


class CommitStrategy(Protocol):
    """What the loop asks of the way outputs and offsets become durable."""

    #: An output failed since the last commit; `abort()` replaces the producer.
    broken: bool

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp_ms: int | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any: ...

    def commit(self, force: bool) -> None:
        """Make progress durable. Cheap when nothing changed; `force` commits even an empty transaction."""
        ...

    def due(self) -> bool:
        """Whether the commit interval has passed."""
        ...

    def before_revoke(self) -> None:
        """Partitions are about to be revoked (not lost): make what was done for them durable."""
        ...

    def tick(self) -> None:
        """Periodic work between polls (checkpoints)."""
        ...

    def abort(self) -> None:
        """Throw away what is not yet durable (after a failure)."""
        ...

    def resume_offset(self, partition: TopicPartition) -> int | None:
        """Where to read `partition` again after a failure; None: from the group's committed offset."""
        ...

    def clear_unstable(self, partitions: list[TopicPartition], renew: bool) -> bool:
        """Clear offset commits the broker keeps pending for `partitions` (streaming/app/unstable.py);
        `renew` replaces the producer as well, which fences and aborts whatever transaction of this id the
        broker still holds open. False where the strategy commits no transactions."""
        ...

    def shutdown(self) -> None:
        """The final commit."""
        ...


class OffsetCommits:
    """What the two Kafka-committing strategies share: pending offsets through the processors' gates, the
    stores flushed into the commit, timing and metrics."""

    def __init__(
        self,
        service: str,
        producer: OutputProducer,
        consumer: Callable[[], GroupConsumer | None],
        tracker: RebalanceTracker,
        processors: Sequence[Processor],
        stores: Sequence[ChangelogStore],
        interval_seconds: float,
    ) -> None:
        self.service = service
        self.producer = producer
        self._consumer = consumer
        self.tracker = tracker
        self.processors = list(processors)
        self.stores = list(stores)
        self.interval_seconds = interval_seconds
        self.commits = 0
        self._last = 0.0

    @property
    def consumer(self) -> GroupConsumer:
        consumer = self._consumer()
        if consumer is None:
            raise RuntimeError("the consumer is not running")
        return consumer

    def due(self) -> bool:
        return time.monotonic() - self._last >= self.interval_seconds

    def pending_offsets(self) -> dict[TopicPartition, int]:
        proposed = self.tracker.owned_positions()
        by_name: Offsets = {(tp.topic, tp.partition): offset for tp, offset in proposed.items()}
        for processor in self.processors:
            # A processor may hold commits back, e.g. to the first record whose delivery is still in flight.
            allowed = processor.allowed_offsets(dict(by_name))
            by_name = {name: min(offset, allowed.get(name, offset)) for name, offset in by_name.items()}
        return self.tracker.uncommitted({tp: by_name[(tp.topic, tp.partition)] for tp in proposed})

    def dirty_state(self) -> bool:
        return any(store.dirty_keys(partition) for store in self.stores for partition in store.partitions)

    def flush_stores(self) -> None:
        for store in self.stores:
            store.flush(self.send, self.send_many)

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp_ms: int | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        return self.producer.send(topic, key, value, timestamp_ms, partition, headers)

    def send_many(
        self,
        topic: str,
        records: Sequence[tuple[bytes | None, bytes | None, int | None]],
        partition: int | None = None,
    ) -> None:
        """Many `(key, value, timestamp_ms)` records to one topic, keyed (or all on `partition`), without a
        future each."""
        self.producer.send_many(topic, records, partition)

    def committed(self, offsets: dict[TopicPartition, int], started: float) -> None:
        self.producer.mark()
        self.tracker.mark_committed(offsets)
        self._last = time.monotonic()
        self.commits += 1
        COMMIT_SECONDS.labels(self.service).observe(time.perf_counter() - started)

    def tick(self) -> None:
        return None

    def resume_offset(self, partition: TopicPartition) -> int | None:
        return None

    def clear_unstable(self, partitions: list[TopicPartition], renew: bool) -> bool:
        return False  # plain offset commits are never pending


class ExactlyOnce(OffsetCommits):
    """Outputs, changelog records and input offsets in one Kafka transaction.

    A transaction opens with the first record sent after a commit, and commits before every poll (so a
    rebalance inside the poll finds nothing pending) and when the commit interval has passed.
    """

    def __init__(self, *args: Any, transactional_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transactional_id = transactional_id
        self.in_transaction = False
        #: Set after any producer error: the client is replaced before the next transaction.
        self.broken = False

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        timestamp_ms: int | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        self._begin()
        try:
            return self.producer.send(topic, key, value, timestamp_ms, partition, headers)
        except KafkaError as error:
            raise self._failed(error) from error

    def send_many(
        self,
        topic: str,
        records: Sequence[tuple[bytes | None, bytes | None, int | None]],
        partition: int | None = None,
    ) -> None:
        self._begin()
        try:
            self.producer.send_many(topic, records, partition)
        except KafkaError as error:
            raise self._failed(error) from error

    def _begin(self) -> None:
        if self.in_transaction:
            return
        if self.broken:
            raise OutputFailed("the producer failed earlier and was not replaced")
        try:
            self.producer.begin_transaction()
        except KafkaError as error:
            raise self._failed(error) from error
        self.in_transaction = True

    def _failed(self, error: BaseException | str) -> Exception:
        """Every kafka-python transaction error is fatal to the transaction: the caller drops what was
        done since the last commit, and the producer is replaced."""
        if isinstance(error, BaseException) and is_producer_fenced(error):
            return ProducerFenced(
                f"another process uses transactional id {self.transactional_id}; "
                "give each process its own --instance-id"
            )
        self.broken = True
        return OutputFailed(error if isinstance(error, str) else f"{type(error).__name__}: {error}")

    def commit(self, force: bool) -> None:
        offsets = self.pending_offsets()
        dirty = self.dirty_state()
        if not offsets and not dirty and not self.in_transaction:
            return
        if not force and not offsets and not dirty:
            return
        started = time.perf_counter()
        self.flush_stores()
        try:
            self._begin()
            # Every record of the transaction acknowledged, and the transaction still ours, before the
            # offsets claim them.
            self.producer.flush()
            failure = self.producer.failure()
            if failure is not None:
                raise self._failed(failure)
            if offsets:
                self.producer.send_offsets_to_transaction(offsets, self.consumer.group_metadata())
            self.producer.commit_transaction()
            self.in_transaction = False
        except KafkaError as error:
            if is_producer_fenced(error):
                raise self._failed(error) from error
            if self.in_transaction or self.producer.failure() is not None:
                raise self._failed(error) from error
            raise CommitFailed(str(error)) from error
        self.committed(offsets, started)

    def before_revoke(self) -> None:
        # Runs on the consumer's IO thread: the producer has its own, so committing through it is safe.
        if self.in_transaction:
            self.flush_stores()
            offsets = self.pending_offsets()
            if offsets:
                self.producer.send_offsets_to_transaction(offsets, self.consumer.group_metadata())
            self.producer.commit_transaction()
            self.in_transaction = False
            self.tracker.mark_committed(offsets)

    def clear_unstable(self, partitions: list[TopicPartition], renew: bool) -> bool:
        if self.in_transaction:
            return False  # progress is committed before every poll: nothing is open between polls
        if renew:
            self.broken = True
            self.abort()
            return True
        try:
            self.producer.begin_transaction()
            self.in_transaction = True
            # The offsets are never committed: only the abort marker of this producer id matters.
            self.producer.send_offsets_to_transaction(
                dict.fromkeys(partitions, 0), self.consumer.group_metadata()
            )
            self.producer.abort_transaction()
            self.in_transaction = False
        except KafkaError as error:
            raise self._failed(error) from error
        return True

    def abort(self) -> None:
        """Drop the open transaction. After a producer error the client is replaced instead (which aborts
        it on the broker): raises a Kafka error while the cluster cannot be reached, for the caller to
        retry."""
        if self.in_transaction and not self.broken:
            try:
                self.producer.abort_transaction()
            except KafkaError as error:
                log.warning("%s: abort failed (%s); replacing the producer", self.service, error)
                self.broken = True
        self.in_transaction = False
        if self.broken:
            self.producer.renew()
            self.broken = False

    def shutdown(self) -> None:
        self.commit(force=True)


class AtLeastOnce(OffsetCommits):
    """Outputs flushed (acknowledged by the broker) before the input offsets are committed."""

    broken = False

    def commit(self, force: bool) -> None:
        offsets = self.pending_offsets()
        dirty = self.dirty_state()
        if not offsets and not dirty:
            return
        started = time.perf_counter()
        self.flush_stores()
        try:
            self.producer.flush()
            failure = self.producer.failure()
            if failure is not None:
                # Committing now would skip the records whose outputs were lost: read them again.
                self.broken = True
                raise OutputFailed(failure)
            if offsets:
                self.consumer.commit(offsets)
        except KafkaError as error:
            if is_rebalance_in_progress(error):
                # Not an eviction: the group is mid-rebalance (cooperative rebalancing takes two rounds).
                # Keep the progress; the next poll completes the rebalance and the next commit succeeds.
                log.info("%s: commit deferred, the group is rebalancing", self.service)
                return
            raise CommitFailed(str(error)) from error
        self.committed(offsets, started)

    def before_revoke(self) -> None:
        # Progress was committed before the poll that runs this callback.
        return None

    def abort(self) -> None:
        if self.broken:
            self.producer.renew()
            self.broken = False

    def shutdown(self) -> None:
        self.commit(force=True)
