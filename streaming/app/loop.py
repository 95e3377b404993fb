"""The consume loop: poll, restore what was assigned, hand each partition's records to its processor in
chunks, keep the membership alive through slow work, run timers, and commit when due."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from streaming.app.clock import ProcessingClock
from streaming.app.commits import CommitFailed, CommitStrategy
from streaming.app.context import Context
from streaming.app.garbage import freeze_long_lived
from streaming.app.lag import LagMonitor
from streaming.app.processor import Batch, Processor
from streaming.app.rebalance import RebalanceTracker
from streaming.app.record import Record
from streaming.app.unstable import UnstableOffsetsWatch
from streaming.config import ProcessingSettings
from streaming.kafka import ConsumerRecord, GroupConsumer, KafkaError, TopicPartition
from streaming.metrics import EVENTS_IN, PROCESSING_SECONDS, UNSTABLE_OFFSET_CLEARS
from streaming.schemas import Codec, EventDecodeError
from streaming.state import ChangelogStore

log = logging.getLogger(__name__)


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


class _BatchFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class Route:
    """Where the records of one full topic name go."""

    logical_topic: str
    codec: Codec[Any]
    processor: Processor


@dataclass
class _Timer:
    processor: Processor
    interval_seconds: float
    next_due: float = 0.0


class ChunkSizer:
    """How many records of a batch to hand over at once: as many as fit in a quarter of the poll budget at
    the processor's measured cost per record, so that slow processing still polls in time.

    >>> sizer = ChunkSizer(budget_seconds=1.0)
    >>> sizer.size()
    16
    >>> sizer.observe(records=16, seconds=0.8); sizer.size()   # 50 ms a record: 5 fit in 0.25 s
    5
    """

    FIRST = 16

    def __init__(self, budget_seconds: float, largest: int = 2_000) -> None:
        self.budget_seconds = budget_seconds
        self.largest = largest
        self._seconds_per_record: float | None = None

    def size(self) -> int:
        if self._seconds_per_record is None:
            return self.FIRST
        fitting = self.budget_seconds / 4 / max(self._seconds_per_record, 1e-9)
        return max(1, min(self.largest, int(fitting)))

    def observe(self, records: int, seconds: float) -> None:
        if records <= 0:
            return
        measured = seconds / records
        previous = self._seconds_per_record
        self._seconds_per_record = measured if previous is None else 0.7 * previous + 0.3 * measured


class ConsumeLoop:
    """Drives one member of the group; `Application` builds it and `run()`s it.

    Parameters
    ----------
    service
        The metrics label.
    processing
        The loop's settings (poll timeout, batch sizes, the poll interval budget).
    routes
        Full topic name -> where its records go.
    tracker, commits, lag
        Assignment and progress; the commit strategy; the lag monitor.
    stores
        Every changelog store of the processors (restored per partition on assignment).
    read_changelog
        `read_changelog(store, partition)`: the store's changelog partition, read to its end.
    context
        What processors emit through.
    clock
        The processing clock the context reads; paused here while the input cannot be fetched.
    """

    #: Records per call of `on_batch` at most (processors must give the same result however batches are cut).
    BATCH_CHUNK = 2_000

    def __init__(
        self,
        service: str,
        processing: ProcessingSettings,
        routes: dict[str, Route],
        tracker: RebalanceTracker,
        commits: CommitStrategy,
        lag: LagMonitor,
        stores: Sequence[ChangelogStore],
        read_changelog: Callable[[ChangelogStore, int], Any],
        context: Context,
        summary: RunSummary,
        clock: ProcessingClock | None = None,
    ) -> None:
        self.service = service
        self.clock = clock or ProcessingClock()
        self.processing = processing
        self.routes = routes
        self.tracker = tracker
        self.commits = commits
        self.lag = lag
        self.stores = list(stores)
        self.read_changelog = read_changelog
        self.context = context
        self.summary = summary
        self.processors = list({id(route.processor): route.processor for route in routes.values()}.values())
        self.timers = [
            _Timer(processor, processor.timer_interval_seconds)
            for processor in self.processors
            if processor.timer_interval_seconds
        ]
        self.budget_seconds = processing.max_poll_interval_ms / 1000.0 / 2
        self._sizers = {
            id(processor): ChunkSizer(self.budget_seconds, self.BATCH_CHUNK) for processor in self.processors
        }
        self.consumer: GroupConsumer | None = None
        self._should_stop: Callable[[], bool] = lambda: False
        #: Wall time at which the consumer last could fetch.
        self._last_fetching = time.time()
        self._last_poll = 0.0
        #: Partitions read one record at a time up to an offset, after a batch of theirs failed.
        self._careful: dict[TopicPartition, int] = {}
        #: Records that failed alone: their next read makes them dead letters, with the error they raised.
        self._poison: dict[tuple[TopicPartition, int], Exception] = {}
        # Past the producer's transaction timeout (30 s), by which the broker ends every transaction it knows.
        self.unstable = UnstableOffsetsWatch(patience_seconds=45.0)
        self._unstable_checked = 0.0

    # Rebalance callbacks (consumer IO thread) -----------------------------------------------------------

    def partitions_assigned(self, partitions: list[TopicPartition]) -> None:
        """Local bookkeeping only: restores run in the main loop, before any of their records."""
        self.tracker.assigned_now(partitions)

    def partitions_revoked(self, partitions: list[TopicPartition], lost: bool = False) -> None:
        """Progress was committed before the poll; what is still open (a transaction after a keep-alive
        poll, or unsaved checkpointed state) is made durable first, unless the partitions are lost."""
        if not lost:
            self.commits.before_revoke()
        numbers = sorted({partition.partition for partition in partitions})
        log.info("%s: partitions %s %s", self.service, numbers, "lost" if lost else "revoked")
        self._drop(numbers)
        self.tracker.revoked_now(partitions, lost)
        self.lag.forget(partitions)

    def _drop(self, partitions: list[int]) -> None:
        for processor in self.processors:
            processor.on_revoked(partitions)
        for store in self.stores:
            for partition in partitions:
                store.close_partition(partition)

    def _complete_assignment(self) -> None:
        assigned = self.tracker.take_pending()
        if not assigned:
            return
        partitions = sorted({partition.partition for partition in assigned})
        restored = 0
        for store in self.stores:
            for partition in partitions:
                restored += store.restore(partition, self.read_changelog(store, partition))
        for processor in self.processors:
            processor.on_assigned(partitions)
        if restored:
            freeze_long_lived()  # the restored state lives as long as the assignment
        log.info("%s: assigned partitions %s; restored %d state keys", self.service, partitions, restored)

    # The loop ----------------------------------------------------------------------------------------------

    def run(
        self,
        consumer: GroupConsumer,
        should_stop: Callable[[], bool],
        idle_exit_seconds: float | None,
    ) -> None:
        self.consumer = consumer
        self._should_stop = should_stop
        freeze_long_lived()  # everything built before the first record: modules, models, loaded checkpoints
        last_input = time.monotonic()
        while not should_stop():
            try:
                had_input = self.poll_and_process()
                self._clear_unstable_offsets(consumer)
                self._run_timers()
                if self.commits.due():
                    self._commit(force=False)
                self.commits.tick()
            except CommitFailed as error:
                # A send failed or the producer lost its transaction, in the middle of processing.
                self._resume_from_committed(error)
                had_input = True
            now = time.monotonic()
            # Waiting for an assignment (e.g. while the group waits out a crashed member's session), or for
            # the broker to come back, is not idleness: count from the last input or the last assignment.
            if had_input or not self.tracker.assigned or self.clock.paused:
                last_input = now
            if not self.clock.paused:  # the end offsets cannot be read either
                self.lag.refresh_if_due(consumer)
            if idle_exit_seconds is not None and now - last_input > idle_exit_seconds:
                self.summary.stopped_by = "idle"
                return

    def _follow_fetching(self, consumer: GroupConsumer) -> None:
        """Stop the processing clock while the input cannot be fetched, so that idle timeouts do not count
        an outage as silence."""
        if self.tracker.assigned and consumer.can_fetch():
            if self.clock.paused:
                log.info("%s: fetching again; processing clock resumed", self.service)
            self.clock.resume()
            self._last_fetching = time.time()
        elif not self.clock.paused:
            log.info("%s: cannot fetch; processing clock paused", self.service)
            self.clock.pause()

    def _clear_unstable_offsets(self, consumer: GroupConsumer) -> None:
        """Partitions stuck behind offset commits the broker keeps unstable get them cleared
        (streaming/app/unstable.py)."""
        now = time.monotonic()
        if now - self._unstable_checked < 1.0:
            return
        self._unstable_checked = now
        # During an outage partitions wait for the broker, not for a transaction.
        reachable = bool(self.tracker.assigned) and consumer.can_fetch()
        waiting = consumer.awaiting_committed_offsets() if reachable else set()
        overdue = self.unstable.overdue(waiting, now)
        if not overdue:
            return
        renew = self.unstable.attempts > 1
        log.error(
            "%s: partitions %s waited over %.0f s for their committed offsets, which the broker keeps "
            "unstable behind a transaction that never ended; %s",
            self.service,
            ", ".join(f"{partition.topic}[{partition.partition}]" for partition in overdue),
            self.unstable.patience_seconds,
            "replacing the producer" if renew else "aborting an offsets-only transaction to clear them",
        )
        UNSTABLE_OFFSET_CLEARS.labels(self.service).inc()
        try:
            self.commits.clear_unstable(overdue, renew=renew)
        except CommitFailed as error:
            self._resume_from_committed(error)
        except KafkaError as error:
            log.warning(
                "%s: clearing the unstable offsets failed (%s); trying again later", self.service, error
            )

    def _commit(self, force: bool) -> None:
        try:
            self.commits.commit(force)
        except CommitFailed as error:
            self._resume_from_committed(error)

    def poll_and_process(self) -> bool:
        consumer = self._consumer()
        # Progress is committed before every poll, so a rebalance inside poll() finds nothing pending, and
        # the rebalance callbacks (which run on the consumer's IO thread) never need consumer I/O.
        self._commit(force=True)
        polled = consumer.poll(
            timeout_ms=self.processing.poll_timeout_ms, max_records=self.processing.max_poll_records
        )
        self._last_poll = time.monotonic()
        self._follow_fetching(consumer)
        self._complete_assignment()
        if not polled:
            return False
        for partition in sorted(polled, key=lambda tp: (tp.topic, tp.partition)):
            if partition not in self.tracker.assigned:
                continue  # revoked inside the poll that returned it: the new owner processes it
            self._process_partition(partition, polled[partition])
        return True

    def _consumer(self) -> GroupConsumer:
        if self.consumer is None:
            raise RuntimeError("the loop is not running")
        return self.consumer

    def _process_partition(self, partition: TopicPartition, records: Sequence[ConsumerRecord]) -> None:
        route = self.routes[partition.topic]
        sizer = self._sizers[id(route.processor)]
        careful_until = self._careful.get(partition)
        index = 0
        while index < len(records):
            if partition not in self.tracker.assigned:
                return  # revoked during a keep-alive poll: the new owner takes the rest
            careful = careful_until is not None and records[index].offset <= careful_until
            chunk = records[index : index + (1 if careful else sizer.size())]
            started = time.perf_counter()
            try:
                self._process_chunk(partition, route, chunk, careful)
            except _BatchFailed as failure:
                self._roll_back(partition, chunk, failure)
                return  # the rest of this poll is read again from the committed offsets
            sizer.observe(len(chunk), time.perf_counter() - started)
            index += len(chunk)
            if careful:
                # One record at a time, each committed, until past the batch that failed: a record that
                # fails again then rolls back alone.
                self._commit(force=True)
            if careful_until is not None and records[index - 1].offset >= careful_until:
                self._careful.pop(partition, None)
                careful_until = None
            self._keep_membership_alive()

    def _roll_back(
        self, partition: TopicPartition, chunk: Sequence[ConsumerRecord], failure: _BatchFailed
    ) -> None:
        """A batch of a processor with partitioned state failed half-way: its state and outputs since the last
        commit are dropped (the transaction aborted, the state restored from the changelog), and its records
        are read again one at a time. A single record that fails is marked, and becomes a dead letter on its
        next read instead of being processed."""
        if len(chunk) == 1:
            self._poison[(partition, chunk[0].offset)] = failure.error
        else:
            self._careful[partition] = max(self._careful.get(partition, -1), chunk[-1].offset)
        log.warning(
            "%s: processing %s[%d] offsets %d-%d failed (%s: %s); rolling back to the last commit",
            self.service,
            partition.topic,
            partition.partition,
            chunk[0].offset,
            chunk[-1].offset,
            type(failure.error).__name__,
            failure.error,
        )
        self._resume_from_committed(failure.error, commit_failed=False)

    def _process_chunk(
        self,
        partition: TopicPartition,
        route: Route,
        records: Sequence[ConsumerRecord],
        careful: bool = False,
    ) -> None:
        context = self.context
        started = time.perf_counter()
        batch = Batch(route.logical_topic, partition.partition)
        for raw in records:
            record = Record(
                raw.topic,
                raw.partition,
                raw.offset,
                raw.key,
                raw.value,
                raw.timestamp,
                tuple(raw.headers or ()),
            )
            poison = self._poison.pop((partition, raw.offset), None) if self._poison else None
            if poison is not None:
                context.dead_letter(record, "processing_error", poison)
                continue
            try:
                batch.items.append((route.codec.decode(raw.value), record))
            except EventDecodeError as error:
                context.dead_letter(record, error.reason, error)
        decoded = time.perf_counter()
        PROCESSING_SECONDS.labels(self.service, "decode").observe(decoded - started)
        if batch.items:
            try:
                route.processor.on_batch(batch, context)
            except CommitFailed:
                raise  # the output path failed, not the processing: nothing of this batch may count
            except Exception as error:
                if route.processor.stores:
                    # Its partitioned state may be half-updated: roll back rather than go on from there.
                    raise _BatchFailed(error) from error
                log.exception("batch of %s failed; retrying record by record", partition)
                for item in batch.items:
                    try:
                        route.processor.on_batch(Batch(batch.topic, batch.partition, [item]), context)
                    except CommitFailed:
                        raise
                    except Exception as item_error:
                        context.dead_letter(item[1], "processing_error", item_error)
        PROCESSING_SECONDS.labels(self.service, "process").observe(time.perf_counter() - decoded)
        self.tracker.advance(partition, records[-1].offset + 1)
        EVENTS_IN.labels(self.service, partition.topic).inc(len(records))
        self.summary.records_in += len(records)
        self.summary.per_topic[partition.topic] = self.summary.per_topic.get(partition.topic, 0) + len(
            records
        )

    def _keep_membership_alive(self) -> None:
        """Slow processing must not outlast max.poll.interval.ms, or the group evicts this member."""
        if time.monotonic() - self._last_poll < self.budget_seconds:
            return
        consumer = self._consumer()
        self._commit(force=True)
        paused = list(consumer.assignment())
        consumer.pause(paused)
        try:
            # Long enough for a pending rebalance round to complete; paused partitions return no records.
            returned = consumer.poll(timeout_ms=200)
        finally:
            consumer.resume([partition for partition in paused if partition in consumer.assignment()])
        # A rebalance inside that poll can assign partitions that were not paused; their records are read
        # again by the next regular poll rather than lost.
        for partition, returned_records in returned.items():
            if returned_records:
                consumer.seek(partition, returned_records[0].offset)
        self._last_poll = time.monotonic()

    def _run_timers(self) -> None:
        now = time.monotonic()
        for timer in self.timers:
            if now >= timer.next_due:
                timer.next_due = now + timer.interval_seconds
                timer.processor.on_timer(self.context.processing_time(), self.context)

    # Failures ------------------------------------------------------------------------------------------

    def _resume_from_committed(self, error: Exception, commit_failed: bool = True) -> None:
        """What was processed since the last commit does not count (the group moved on without us, or a
        batch failed half-way). Drop it, state included, and resume from the committed offsets and the
        changelog, which is exactly what the partitions' next owner, maybe this process again, will see."""
        if commit_failed:
            log.warning(
                "%s: commit failed (%s); resuming from the last committed offsets", self.service, error
            )
        consumer = self._consumer()
        # A failed commit often means a dead broker, found out only now: the outage is not idleness.
        self.clock.pause(since=self._last_fetching)
        owned = [partition for partition in consumer.assignment() if partition in self.tracker.assigned]
        # State first: whatever happens next, nothing processed since the last commit stays applied.
        self._drop(sorted({partition.partition for partition in owned}))
        self.tracker.restart(owned)
        backoff = 0.5
        while True:
            try:
                self.commits.abort()
                for partition in owned:
                    committed = self.commits.resume_offset(partition)
                    if committed is None:
                        committed = consumer.committed(partition)
                    if committed is not None:
                        consumer.seek(partition, committed)
                    else:
                        consumer.seek_to_beginning(partition)
                return
            except KafkaError as failure:
                # The cluster is unreachable (a broker outage): wait for it rather than go on unsure.
                if self._should_stop():
                    raise
                log.warning("%s: cannot resume yet (%s); retrying in %.1f s", self.service, failure, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    def shutdown(self) -> None:
        for processor in self.processors:
            try:
                processor.on_stop()
            except Exception:
                log.exception("%s: %s failed to stop", self.service, processor.name)
        if self.consumer is None:
            return
        try:
            self.commits.shutdown()
        except Exception:
            log.exception("%s: final commit failed", self.service)
            if not self.commits.broken:
                # A broken producer is not replaced on the way out: the transaction coordinator aborts
                # what it left open, and the next incarnation fences it.
                self.commits.abort()


def stop_condition(
    stop: threading.Event, stop_event: threading.Event | None, started: float, duration: float | None
) -> Callable[[], bool]:
    def should_stop() -> bool:
        if stop.is_set() or (stop_event is not None and stop_event.is_set()):
            return True
        return duration is not None and time.monotonic() - started >= duration

    return should_stop
