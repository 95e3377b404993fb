"""The consume loop every service is built from.

A service declares its sources (topic, codec, handler), its timers and its state; `run()` does the rest:
batched polls, decoding with dead letters, cooperative rebalancing, state restore from changelogs, commits
(Kafka transactions under exactly-once), checkpoints, lag and latency metrics, and a clean shutdown.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import KafkaError, RebalanceInProgressError

from streaming.app.context import Context
from streaming.app.record import Record
from streaming.config import Settings
from streaming.kafka import ensure_topics, make_admin, make_consumer, make_producer, resolve_bootstrap
from streaming.kafka.topics import changelog_topic
from streaming.metrics import COMMIT_SECONDS, CONSUMER_LAG, EVENTS_IN, PROCESSING_SECONDS, REBALANCES
from streaming.schemas import Codec, EventDecodeError
from streaming.schemas.base import Event
from streaming.state import ChangelogStore, CheckpointStore
from streaming.topics import TopicSpec

log = logging.getLogger(__name__)

EventT = TypeVar("EventT", bound=Event)
Guarantee = Literal["exactly-once", "at-least-once"]
Handler = Callable[[Any, Record, Context], None]
BatchHandler = Callable[[list[tuple[Any, Record]], Context], None]
TimerCallback = Callable[[float, Context], None]
PartitionCallback = Callable[[list[int]], None]
#: Lowers the offsets about to be committed: {(topic, partition): next offset} -> the same, never higher.
CommitGate = Callable[[dict[tuple[str, int], int]], dict[tuple[str, int], int]]


class Checkpointable(Protocol):
    def snapshot(self) -> Any: ...

    def restore(self, snapshot: Any) -> None: ...


@dataclass
class Source(Generic[EventT]):
    logical_topic: str
    topic: str
    codec: Codec[EventT]
    handler: Handler | None = None
    batch_handler: BatchHandler | None = None


@dataclass
class Timer:
    interval_seconds: float
    callback: TimerCallback
    next_due: float = 0.0


@dataclass
class RunSummary:
    """What one `run()` did."""

    records_in: int = 0
    dead_letters: int = 0
    late_events: int = 0
    commits: int = 0
    checkpoints: int = 0
    seconds: float = 0.0
    stopped_by: str = ""
    per_topic: dict[str, int] = field(default_factory=dict)


class ProducerFenced(RuntimeError):
    """Another process took over this transactional id (same group and instance id)."""


class Application:
    """A consumer service: sources, timers and state on one consume loop.

    >>> from streaming.config import Settings
    >>> app = Application(Settings(), service="doc", group_id="doc", bootstrap="127.0.0.1:1")
    >>> app.topics
    []
    """

    def __init__(
        self,
        settings: Settings,
        service: str,
        group_id: str,
        bootstrap: str | None = None,
        guarantee: Guarantee | None = None,
        checkpoint: CheckpointStore | None = None,
        checkpointable: Checkpointable | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.group_id = f"{settings.topics.prefix}{group_id}"
        self._bootstrap = bootstrap
        self.guarantee: Guarantee = guarantee or settings.processing.processing_guarantee
        self.checkpoint_store = checkpoint
        self.checkpointable = checkpointable
        self.instance_id = instance_id or os.environ.get("STREAMING_INSTANCE_ID") or socket.gethostname()
        self.sources: dict[str, Source[Any]] = {}
        self.timers: list[Timer] = []
        self.stores: list[ChangelogStore] = []
        self._on_assigned: list[PartitionCallback] = []
        self._on_revoked: list[PartitionCallback] = []
        self._commit_gates: list[CommitGate] = []
        self._before_shutdown: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._context: Context | None = None
        self._in_transaction = False
        self._positions: dict[TopicPartition, int] = {}
        self._committed_positions: dict[TopicPartition, int] = {}
        self._checkpoint_offsets: dict[tuple[str, int], int] = {}
        self._assigned: set[TopicPartition] = set()
        self._pending_assignment: list[TopicPartition] = []
        self._summary = RunSummary()
        self._last_commit = 0.0
        self._last_checkpoint = 0.0
        self._checkpoints_started = 0
        self._last_lag = 0.0
        self._last_poll = 0.0

    # Declaration -------------------------------------------------------------------------------------

    @property
    def topics(self) -> list[str]:
        return [source.topic for source in self.sources.values()]

    def source(self, logical_topic: str, codec: Codec[EventT], handler: Handler) -> None:
        """Call `handler(event, record, context)` for each valid record of a catalog topic."""
        topic = self.settings.topic_name(logical_topic)
        self.sources[topic] = Source(logical_topic, topic, codec, handler=handler)

    def batch_source(self, logical_topic: str, codec: Codec[EventT], handler: BatchHandler) -> None:
        """Call `handler([(event, record), ...], context)` with each polled batch of one partition."""
        topic = self.settings.topic_name(logical_topic)
        self.sources[topic] = Source(logical_topic, topic, codec, batch_handler=handler)

    def every(self, interval_seconds: float, callback: TimerCallback) -> None:
        """A processing-time timer: `callback(wall_seconds, context)` about every interval."""
        self.timers.append(Timer(interval_seconds, callback))

    def state_store(self, name: str) -> ChangelogStore:
        """Partitioned state, restored from its changelog whenever a partition is assigned."""
        store = ChangelogStore(
            name,
            changelog_topic(self.settings, self.group_id.removeprefix(self.settings.topics.prefix), name),
            self.service,
        )
        self.stores.append(store)
        return store

    def on_partitions_assigned(self, callback: PartitionCallback) -> None:
        self._on_assigned.append(callback)

    def on_partitions_revoked(self, callback: PartitionCallback) -> None:
        self._on_revoked.append(callback)

    def commit_gate(self, gate: CommitGate) -> None:
        """Hold commits back: `gate` sees the offsets about to be committed and may lower them, e.g. to the
        first record whose asynchronous side effect (an HTTP delivery) has not finished yet."""
        self._commit_gates.append(gate)

    def before_shutdown(self, callback: Callable[[], None]) -> None:
        """Called once when the loop ends, before the final commit (e.g. to let in-flight work drain)."""
        self._before_shutdown.append(callback)

    def stop(self) -> None:
        self._stop.set()

    @property
    def summary(self) -> RunSummary:
        """Progress so far (safe to read from another thread)."""
        return self._summary

    @property
    def context(self) -> Context:
        if self._context is None:
            raise RuntimeError("the application is not running")
        return self._context

    # Running -----------------------------------------------------------------------------------------

    def run(
        self,
        duration: float | None = None,
        stop_event: threading.Event | None = None,
        idle_exit_seconds: float | None = None,
        install_signal_handlers: bool = False,
    ) -> RunSummary:
        """Consume until `duration` passes, `stop_event` or `stop()` is set, or nothing arrives for
        `idle_exit_seconds`. Commits and checkpoints on the way out."""
        if not self.sources:
            raise ValueError("declare at least one source before run()")
        if self.stores and len(self.sources) != 1:
            raise ValueError("changelog state supports exactly one source topic")
        if install_signal_handlers:
            self._install_signal_handlers()
        bootstrap = self._bootstrap or resolve_bootstrap(self.settings)
        self._prepare_topics(bootstrap)
        started = time.monotonic()
        self._producer = self._make_producer(bootstrap)
        self._context = Context(self.settings, self.service, self.group_id, self._send)
        self._restore_checkpoint()
        self._consumer = self._make_consumer(bootstrap)
        self._await_metadata(self._consumer)
        self._consumer.subscribe(self.topics, listener=_Listener(self))
        last_input = time.monotonic()
        try:
            while not self._should_stop(stop_event, started, duration):
                had_input = self._poll_and_process()
                now = time.monotonic()
                # Waiting for an assignment (e.g. while the group waits out a crashed member's session) is
                # not idleness: count from the last input or the last assignment.
                if had_input or not self._assigned:
                    last_input = now
                self._run_timers()
                self._commit_if_due()
                self._checkpoint_if_due()
                self._refresh_lag_if_due(bootstrap)
                if idle_exit_seconds is not None and now - last_input > idle_exit_seconds:
                    self._summary.stopped_by = "idle"
                    break
            if not self._summary.stopped_by:
                self._summary.stopped_by = (
                    "duration" if duration is not None and not self._stop.is_set() else "stop"
                )
        finally:
            self._shutdown()
        self._summary.seconds = time.monotonic() - started
        self._summary.dead_letters = self._context.dead_letters
        self._summary.late_events = self._context.late_events
        return self._summary

    def _await_metadata(self, consumer: KafkaConsumer, timeout_seconds: float = 30.0) -> None:
        """Know every source's partitions before joining: an assignor that runs without them assigns
        nothing and the group needs another round (seen with cooperative-sticky under load)."""
        deadline = time.monotonic() + timeout_seconds
        for topic in self.topics:
            while not consumer.partitions_for_topic(topic) and time.monotonic() < deadline:
                time.sleep(0.1)

    def _should_stop(
        self, stop_event: threading.Event | None, started: float, duration: float | None
    ) -> bool:
        if self._stop.is_set() or (stop_event is not None and stop_event.is_set()):
            return True
        return duration is not None and time.monotonic() - started >= duration

    def _install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: Any) -> None:
            log.info("signal %s: stopping after the current batch", signum)
            self._stop.set()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    def _prepare_topics(self, bootstrap: str) -> None:
        admin = make_admin(self.settings, bootstrap)
        try:
            ensure_topics(admin, self.settings)
            if self.stores:
                source_partitions = self._partition_count(admin, self.topics[0])
                extra = {
                    store.topic: TopicSpec(
                        logical_name=store.topic,
                        key="state key",
                        description=f"changelog of {self.service}/{store.name}",
                        cleanup_policy="compact",
                        partitions=source_partitions,
                        retention_ms=-1,
                        retention_bytes=-1,
                    )
                    for store in self.stores
                }
                ensure_topics(admin, self.settings, extra=extra, only=[])
        finally:
            admin.close()

    @staticmethod
    def _partition_count(admin: Any, topic: str) -> int:
        described = admin.describe_topics([topic])
        return len(described[0]["partitions"])

    def _make_producer(self, bootstrap: str) -> KafkaProducer:
        if self.guarantee == "exactly-once":
            transactional_id = f"{self.group_id}-{self.instance_id}"
            producer = make_producer(
                self.settings,
                bootstrap,
                role=self.service,
                transactional_id=transactional_id,
                transaction_timeout_ms=30_000,
                linger_ms=1,
            )
            # Fences an earlier incarnation with the same id and aborts whatever it left open.
            producer.init_transactions()
            return producer
        return make_producer(self.settings, bootstrap, role=self.service, linger_ms=1)

    def _make_consumer(self, bootstrap: str) -> KafkaConsumer:
        # Co-partitioned inputs (e.g. transactions and labels) need the same partition numbers on one
        # member: range assignment guarantees it; cooperative sticky does not.
        if len(self.sources) > 1:
            strategy: tuple[type, ...] = (RangePartitionAssignor,)
        else:
            strategy = (CooperativeStickyAssignor,)
        return make_consumer(
            self.settings,
            bootstrap,
            group_id=self.group_id,
            role=self.service,
            partition_assignment_strategy=strategy,
        )

    def _send(
        self, topic: str, key: bytes | None, value: bytes | None, timestamp_ms: int | None, extra: Any
    ) -> Any:
        """Produce one record inside the current transaction. `extra` is headers (a list) or a partition."""
        producer = self._require_producer()
        self._begin_transaction_if_needed()
        if isinstance(extra, int):
            return producer.send(topic, key=key, value=value, timestamp_ms=timestamp_ms, partition=extra)
        return producer.send(topic, key=key, value=value, timestamp_ms=timestamp_ms, headers=extra)

    def _require_producer(self) -> KafkaProducer:
        if self._producer is None:
            raise RuntimeError("the application is not running")
        return self._producer

    def _begin_transaction_if_needed(self) -> None:
        if self.guarantee == "exactly-once" and not self._in_transaction:
            self._require_producer().begin_transaction()
            self._in_transaction = True

    # Processing --------------------------------------------------------------------------------------

    def _poll_and_process(self) -> bool:
        consumer = self._consumer
        assert consumer is not None
        # Progress is committed before every poll, so a rebalance inside poll() finds nothing pending, and
        # the rebalance callbacks (which run on the consumer's IO thread) never need consumer I/O.
        self._commit(force=self._in_transaction)
        polled = consumer.poll(
            timeout_ms=self.settings.processing.poll_timeout_ms,
            max_records=self.settings.processing.max_poll_records,
        )
        self._last_poll = time.monotonic()
        self._complete_assignment()
        if not polled:
            return False
        for topic_partition in sorted(polled, key=lambda tp: (tp.topic, tp.partition)):
            if topic_partition not in self._assigned:
                # Revoked inside the poll that returned it: the new owner processes it.
                continue
            self._process_partition(topic_partition, polled[topic_partition])
        return True

    def _process_partition(self, topic_partition: TopicPartition, records: Sequence[Any]) -> None:
        """Process one partition's polled records in chunks, polling between them when processing is slow,
        so that the member never outlasts max.poll.interval.ms and gets evicted."""
        source = self.sources[topic_partition.topic]
        index = 0
        while index < len(records):
            if topic_partition not in self._assigned:
                return  # revoked during a keep-alive poll: the new owner takes the rest
            if source.batch_handler is not None:
                chunk = records[index : index + self.BATCH_CHUNK]
                self._process_batch_chunk(topic_partition, source, chunk)
                index += len(chunk)
            else:
                index += self._process_records(topic_partition, source, records[index:])
            self._keep_membership_alive()

    #: Checkpoints between full garbage collections (see `_checkpoint_if_due`).
    FULL_COLLECT_EVERY = 20

    #: Records per call of a batch handler (batch handlers must give the same result however they are cut).
    BATCH_CHUNK = 2_000

    def _record(self, raw: Any) -> Record:
        return Record(
            raw.topic, raw.partition, raw.offset, raw.key, raw.value, raw.timestamp, tuple(raw.headers or ())
        )

    def _process_batch_chunk(
        self, topic_partition: TopicPartition, source: Source[Any], records: Sequence[Any]
    ) -> None:
        context = self.context
        started = time.perf_counter()
        decoded: list[tuple[Any, Record]] = []
        for raw in records:
            record = self._record(raw)
            try:
                decoded.append((source.codec.decode(raw.value), record))
            except EventDecodeError as error:
                context.dead_letter(record, error.reason, error)
        decode_done = time.perf_counter()
        PROCESSING_SECONDS.labels(self.service, "decode").observe(decode_done - started)
        if source.batch_handler is not None and decoded:
            try:
                source.batch_handler(decoded, context)
            except Exception:
                log.exception("batch of %s failed; retrying record by record", topic_partition)
                for item in decoded:
                    try:
                        source.batch_handler([item], context)
                    except Exception as error:
                        context.dead_letter(item[1], "processing_error", error)
        PROCESSING_SECONDS.labels(self.service, "process").observe(time.perf_counter() - decode_done)
        self._advance(topic_partition, records)

    def _process_records(
        self, topic_partition: TopicPartition, source: Source[Any], records: Sequence[Any]
    ) -> int:
        """Decode and handle records one by one until done or the poll budget is spent. Returns how many."""
        context = self.context
        handler = source.handler
        assert handler is not None
        budget = self.settings.processing.max_poll_interval_ms / 1000.0 / 2
        started = time.perf_counter()
        done = 0
        for raw in records:
            record = self._record(raw)
            try:
                event = source.codec.decode(raw.value)
            except EventDecodeError as error:
                context.dead_letter(record, error.reason, error)
            else:
                try:
                    handler(event, record, context)
                except Exception as error:
                    log.debug("handler failed on %s@%s", record.topic, record.offset, exc_info=True)
                    context.dead_letter(record, "processing_error", error)
            done += 1
            if time.monotonic() - self._last_poll >= budget:
                break
        PROCESSING_SECONDS.labels(self.service, "process").observe(time.perf_counter() - started)
        self._advance(topic_partition, records[:done])
        return done

    def _advance(self, topic_partition: TopicPartition, records: Sequence[Any]) -> None:
        self._positions[topic_partition] = records[-1].offset + 1
        EVENTS_IN.labels(self.service, topic_partition.topic).inc(len(records))
        self._summary.records_in += len(records)
        per_topic = self._summary.per_topic
        per_topic[topic_partition.topic] = per_topic.get(topic_partition.topic, 0) + len(records)

    def _keep_membership_alive(self) -> None:
        """Slow processing must not outlast max.poll.interval.ms, or the group evicts this member."""
        budget = self.settings.processing.max_poll_interval_ms / 1000.0 / 2
        if time.monotonic() - self._last_poll < budget:
            return
        consumer = self._consumer
        assert consumer is not None
        self._commit(force=True)
        paused = list(consumer.assignment())
        consumer.pause(*paused)
        try:
            # Long enough for a pending rebalance round to complete; paused partitions return no records.
            returned = consumer.poll(timeout_ms=200)
        finally:
            consumer.resume(*[tp for tp in paused if tp in consumer.assignment()])
        # A rebalance inside that poll can assign partitions that were not paused; their records are read
        # again by the next regular poll rather than lost.
        for topic_partition, returned_records in returned.items():
            if returned_records:
                consumer.seek(topic_partition, returned_records[0].offset)
        self._last_poll = time.monotonic()

    def _run_timers(self) -> None:
        now = time.monotonic()
        for timer in self.timers:
            if now >= timer.next_due:
                timer.next_due = now + timer.interval_seconds
                timer.callback(time.time(), self.context)

    # Commits and checkpoints ---------------------------------------------------------------------------

    def _commit_if_due(self) -> None:
        interval = self.settings.processing.commit_interval_ms / 1000.0
        if time.monotonic() - self._last_commit >= interval:
            self._commit(force=False)

    def _pending_offsets(self) -> dict[TopicPartition, int]:
        proposed = {tp: offset for tp, offset in self._positions.items() if tp in self._assigned}
        if self._commit_gates:
            by_name = {(tp.topic, tp.partition): offset for tp, offset in proposed.items()}
            for gate in self._commit_gates:
                allowed = gate(dict(by_name))
                by_name = {name: min(offset, allowed.get(name, offset)) for name, offset in by_name.items()}
            proposed = {tp: by_name[(tp.topic, tp.partition)] for tp in proposed}
        return {tp: offset for tp, offset in proposed.items() if self._committed_positions.get(tp) != offset}

    def _commit(self, force: bool) -> None:
        """Commit outputs, state and offsets together. Cheap when nothing changed."""
        if self._checkpointing:
            # Offsets are owned by checkpoints: committing them alone would skip past unsaved state.
            return
        offsets = self._pending_offsets()
        dirty_state = any(store.dirty_keys(p) for store in self.stores for p in store.partitions)
        if not offsets and not dirty_state and not self._in_transaction:
            return
        if not force and not offsets and not dirty_state:
            return
        started = time.perf_counter()
        consumer = self._consumer
        producer = self._require_producer()
        assert consumer is not None
        for store in self.stores:
            store.flush(self._send)
        try:
            if self.guarantee == "exactly-once":
                self._begin_transaction_if_needed()
                if offsets:
                    producer.send_offsets_to_transaction(
                        {tp: _offset_and_metadata(offset) for tp, offset in offsets.items()},
                        consumer.group_metadata(),
                    )
                producer.commit_transaction()
                self._in_transaction = False
            else:
                producer.flush()
                if offsets:
                    consumer.commit({tp: _offset_and_metadata(offset) for tp, offset in offsets.items()})
        except KafkaError as error:
            if "Fenced" in type(error).__name__ and "Producer" in type(error).__name__:
                raise ProducerFenced(
                    f"another process uses transactional id {self.group_id}-{self.instance_id}; "
                    "give each process its own --instance-id"
                ) from error
            if self.guarantee == "at-least-once" and isinstance(error, RebalanceInProgressError):
                # Not an eviction: the group is mid-rebalance (cooperative rebalancing takes two rounds).
                # Keep the progress; the next poll completes the rebalance and the next commit succeeds.
                log.info("%s: commit deferred, the group is rebalancing", self.service)
                return
            self._recover_from_failed_commit(error)
            return
        self._committed_positions.update(offsets)
        self._last_commit = time.monotonic()
        self._summary.commits += 1
        COMMIT_SECONDS.labels(self.service).observe(time.perf_counter() - started)

    def _recover_from_failed_commit(self, error: Exception) -> None:
        """The group moved on without us (e.g. an eviction): what was processed since the last commit did not
        count. Drop it, state included, and resume from the committed offsets and the changelog, which is
        exactly what the partitions' next owner, maybe this process again, will see."""
        log.warning("%s: commit failed (%s); resuming from the last committed offsets", self.service, error)
        if self._in_transaction and self._producer is not None:
            with contextlib.suppress(KafkaError):
                self._producer.abort_transaction()
        self._in_transaction = False
        consumer = self._consumer
        assert consumer is not None
        assigned = [tp for tp in consumer.assignment() if tp in self._assigned]
        partitions = sorted({tp.partition for tp in assigned})
        for callback in self._on_revoked:
            callback(partitions)
        for store in self.stores:
            for partition in partitions:
                store.close_partition(partition)
        for topic_partition in assigned:
            committed = consumer.committed(topic_partition)
            if committed is not None:
                consumer.seek(topic_partition, committed)
            else:
                consumer.seek_to_beginning(topic_partition)
            self._positions.pop(topic_partition, None)
            self._committed_positions.pop(topic_partition, None)
        self._pending_assignment.extend(assigned)
        REBALANCES.labels(self.service, "commit_failed").inc()

    @property
    def _checkpointing(self) -> bool:
        return self.checkpoint_store is not None and self.checkpointable is not None

    def _restore_checkpoint(self) -> None:
        if not self._checkpointing:
            return
        assert self.checkpoint_store is not None and self.checkpointable is not None
        checkpoint = self.checkpoint_store.latest()
        if checkpoint is None:
            return
        self.checkpointable.restore(checkpoint.snapshot)
        self._checkpoint_offsets = dict(checkpoint.offsets)
        log.info("%s restored checkpoint v%d", self.service, checkpoint.version)

    def _checkpoint_if_due(self) -> None:
        if not self._checkpointing:
            return
        store = self.checkpoint_store
        assert store is not None and self.checkpointable is not None
        saved = store.finished()
        if saved is not None:
            self._summary.checkpoints += 1
            self._commit_checkpointed_offsets(saved)
        if time.monotonic() - self._last_checkpoint < store.interval_seconds:
            return
        # Long-lived state (models, per-entity state) survives every collection; moving it out of the
        # collector's sight keeps the automatic full collections short, which is what sets tail latency.
        # Frozen objects that later become cyclic garbage would stay, so every FULL_COLLECT_EVERY-th
        # checkpoint unfreezes and collects the whole heap: one pause of a few hundred ms every ~10 min
        # instead of one at every checkpoint (measured: p99 0.5 s at 2,000 tx/s when done every time).
        self._checkpoints_started += 1
        if self._checkpoints_started % self.FULL_COLLECT_EVERY == 0:
            gc.unfreeze()
            gc.collect()
        gc.freeze()
        if not store.background:
            self.save_checkpoint()
            return
        # Outputs up to these offsets must be durable before a checkpoint may claim them.
        self._require_producer().flush()
        offsets = {
            **self._checkpoint_offsets,
            **{(tp.topic, tp.partition): o for tp, o in self._positions.items()},
        }
        if store.save_in_background(offsets, self.checkpointable.snapshot, {"service": self.service}):
            self._checkpoint_offsets = offsets
            self._last_checkpoint = time.monotonic()

    def _commit_checkpointed_offsets(self, offsets: dict[tuple[str, int], int]) -> None:
        """Tell the group how far the checkpoint got (lag monitoring, tools); restarts use the checkpoint."""
        consumer = self._consumer
        if consumer is None:
            return
        pending = {
            tp: offsets[(tp.topic, tp.partition)]
            for tp in self._assigned
            if (tp.topic, tp.partition) in offsets
        }
        if pending:
            try:
                consumer.commit({tp: _offset_and_metadata(off) for tp, off in pending.items()})
            except KafkaError:
                log.warning("offset commit after checkpoint failed; the checkpoint still holds them")

    def _write_checkpoint_file(self) -> None:
        assert self.checkpoint_store is not None and self.checkpointable is not None
        # A background write still running would finish after this one and number itself after it.
        self.checkpoint_store.finished(wait=True)
        self._require_producer().flush()
        offsets = {(tp.topic, tp.partition): offset for tp, offset in self._positions.items()}
        merged = {**self._checkpoint_offsets, **offsets}
        self.checkpoint_store.save(merged, self.checkpointable.snapshot(), {"service": self.service})
        self._checkpoint_offsets = merged
        self._last_checkpoint = time.monotonic()
        self._summary.checkpoints += 1

    def save_checkpoint(self) -> None:
        """Flush outputs, save state with the offsets it reflects, then commit those offsets to the group
        (for lag monitoring and tools; on restart the checkpoint's offsets win)."""
        self._write_checkpoint_file()
        consumer = self._consumer
        if consumer is not None:
            pending = {tp: off for tp, off in self._positions.items() if tp in self._assigned}
            if pending:
                try:
                    consumer.commit({tp: _offset_and_metadata(off) for tp, off in pending.items()})
                except KafkaError:
                    log.warning("offset commit after checkpoint failed; the checkpoint still holds them")

    # Rebalancing -------------------------------------------------------------------------------------

    def _partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Rebalance callback (consumer IO thread): local bookkeeping only; restores run in the main loop."""
        REBALANCES.labels(self.service, "assigned").inc(len(assigned))
        consumer = self._consumer
        assert consumer is not None
        for topic_partition in assigned:
            stored = self._checkpoint_offsets.get((topic_partition.topic, topic_partition.partition))
            if stored is not None:
                consumer.seek(topic_partition, stored)
            self._assigned.add(topic_partition)
        self._pending_assignment.extend(assigned)

    def _complete_assignment(self) -> None:
        """Restore the state of newly assigned partitions before any of their records is processed."""
        if not self._pending_assignment:
            return
        assigned, self._pending_assignment = self._pending_assignment, []
        partitions = sorted({tp.partition for tp in assigned if tp in self._assigned})
        bootstrap = self._bootstrap or resolve_bootstrap(self.settings)
        restored = 0
        for store in self.stores:
            for partition in partitions:
                restored += store.restore(partition, lambda: self._restore_consumer(bootstrap))
        for callback in self._on_assigned:
            callback(partitions)
        log.info("%s: assigned partitions %s; restored %d state keys", self.service, partitions, restored)

    def _restore_consumer(self, bootstrap: str) -> KafkaConsumer:
        return make_consumer(self.settings, bootstrap, group_id=None, role=f"{self.service}-restore")

    def _partitions_revoked(self, revoked: list[TopicPartition], lost: bool = False) -> None:
        """Rebalance callback (consumer IO thread). Progress was committed before the poll; under
        exactly-once an open transaction (possible only after a keep-alive poll) is committed through the
        producer, which has its own IO thread."""
        REBALANCES.labels(self.service, "lost" if lost else "revoked").inc(len(revoked))
        if not lost:
            if self._checkpointing:
                self._write_checkpoint_file()
            elif self.guarantee == "exactly-once" and self._in_transaction:
                self._commit_transaction_only()
        partitions = sorted({tp.partition for tp in revoked})
        log.info("%s: partitions %s %s", self.service, partitions, "lost" if lost else "revoked")
        for callback in self._on_revoked:
            callback(partitions)
        for store in self.stores:
            for partition in partitions:
                store.close_partition(partition)
        for topic_partition in revoked:
            self._assigned.discard(topic_partition)
            self._positions.pop(topic_partition, None)
            self._committed_positions.pop(topic_partition, None)
            labels = (self.service, topic_partition.topic, str(topic_partition.partition))
            if labels in _lag_label_sets():
                CONSUMER_LAG.remove(*labels)

    def _commit_transaction_only(self) -> None:
        producer = self._require_producer()
        consumer = self._consumer
        assert consumer is not None
        for store in self.stores:
            store.flush(self._send)
        offsets = self._pending_offsets()
        if offsets:
            producer.send_offsets_to_transaction(
                {tp: _offset_and_metadata(offset) for tp, offset in offsets.items()},
                consumer.group_metadata(),
            )
        producer.commit_transaction()
        self._in_transaction = False
        self._committed_positions.update(offsets)

    # Lag -----------------------------------------------------------------------------------------------

    def _refresh_lag_if_due(self, bootstrap: str) -> None:
        if time.monotonic() - self._last_lag < self.settings.processing.lag_refresh_seconds:
            return
        self._last_lag = time.monotonic()
        consumer = self._consumer
        if consumer is None or not self._assigned:
            return
        try:
            ends = consumer.end_offsets(list(self._assigned))
        except KafkaError:
            return
        for topic_partition, end in ends.items():
            position = self._positions.get(topic_partition)
            if position is None:
                try:
                    position = consumer.position(topic_partition)
                except KafkaError:
                    continue
            CONSUMER_LAG.labels(self.service, topic_partition.topic, str(topic_partition.partition)).set(
                max(0, end - position)
            )

    # Shutdown ------------------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        for callback in self._before_shutdown:
            try:
                callback()
            except Exception:
                log.exception("%s: before-shutdown callback failed", self.service)
        try:
            if self._consumer is not None and self._producer is not None:
                if self._checkpointing:
                    self.save_checkpoint()
                else:
                    self._commit(force=True)
        except Exception:
            log.exception("%s: final commit failed", self.service)
            if self._in_transaction and self._producer is not None:
                with contextlib.suppress(KafkaError):
                    self._producer.abort_transaction()
        finally:
            if self._consumer is not None:
                self._consumer.close()
            if self._producer is not None:
                self._producer.close(timeout=10)
            self._consumer = None
            self._producer = None


def _offset_and_metadata(offset: int) -> Any:
    from kafka.structs import OffsetAndMetadata

    return OffsetAndMetadata(offset, "", -1)


def _lag_label_sets() -> set[tuple[str, ...]]:
    return {tuple(labels) for labels in CONSUMER_LAG._metrics}


class _Listener(ConsumerRebalanceListener):
    def __init__(self, app: Application) -> None:
        self.app = app

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if revoked:
            self.app._partitions_revoked(list(revoked))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if assigned:
            self.app._partitions_assigned(list(assigned))

    def on_partitions_lost(self, lost: list[TopicPartition]) -> None:
        # Lost, not revoked: another member may already own them, so nothing may be committed for them.
        if lost:
            self.app._partitions_revoked(list(lost), lost=True)
