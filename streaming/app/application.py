"""A service: processors on the consume loop, with a commit strategy, state, rebalancing and lag.

`Application` only composes the parts, each with one job:
- `ConsumeLoop` (loop.py): polls, restores assigned state, hands records to processors, timers;
- a commit strategy (commits.py, checkpoints.py): exactly-once transactions, at-least-once, or checkpoints;
- `RebalanceTracker` (rebalance.py): what this member owns and how far it got;
- `LagMonitor` (lag.py): consumer lag;
- the Kafka clients (streaming/kafka): `GroupConsumer`, `OutputProducer`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from typing import Any

from streaming.app.checkpoints import Checkpointed
from streaming.app.clock import ProcessingClock
from streaming.app.commits import AtLeastOnce, CommitStrategy, ExactlyOnce
from streaming.app.context import Context
from streaming.app.lag import LagMonitor
from streaming.app.loop import ConsumeLoop, Route, RunSummary, stop_condition
from streaming.app.processor import Processor
from streaming.app.rebalance import RebalanceTracker
from streaming.config import Settings
from streaming.kafka import (
    GroupConsumer,
    OutputProducer,
    TopicPartition,
    changelog_topic,
    committed_offsets,
    ensure_topics,
    make_admin,
    partition_count,
    read_partition,
    resolve_bootstrap,
)
from streaming.state import ChangelogStore, CheckpointStore
from streaming.topics import TopicSpec

log = logging.getLogger(__name__)

Guarantee = str  # "exactly-once" | "at-least-once"


class Application:
    """A consumer service: processors added with `add()`, run with `run()`.

    Parameters
    ----------
    settings
        The pipeline's settings.
    service
        The metrics label and the name in logs.
    group_id
        The consumer group (the topic prefix is put in front).
    bootstrap
        The cluster; default: `resolve_bootstrap(settings)`.
    guarantee
        `exactly-once` or `at-least-once` (default: `processing.processing_guarantee`). Ignored with
        `checkpoints`, which own the offsets.
    checkpoints
        File checkpoints of every processor's `snapshot()`, for services whose whole state is one object
        (models). Without them, processors keep partitioned state in changelog stores.
    instance_id
        Unique per process of the group: part of the transactional id.

    >>> from contracts import Label
    >>> from streaming.app.processor import RecordHandler
    >>> from streaming.schemas import Codec
    >>> app = Application(Settings(), service="doc", group_id="doc", bootstrap="127.0.0.1:1")
    >>> handler = app.add(RecordHandler("labels", Codec(Label), lambda event, record, context: None))
    >>> app.topics
    ['labels']
    """

    def __init__(
        self,
        settings: Settings,
        service: str,
        group_id: str,
        bootstrap: str | None = None,
        guarantee: Guarantee | None = None,
        checkpoints: CheckpointStore | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.group_id = f"{settings.topics.prefix}{group_id}"
        self._group_name = group_id
        self._bootstrap = bootstrap
        self.guarantee = guarantee or settings.processing.processing_guarantee
        self.checkpoints = checkpoints
        self.instance_id = instance_id or os.environ.get("STREAMING_INSTANCE_ID") or socket.gethostname()
        self.processors: list[Processor] = []
        self.routes: dict[str, Route] = {}
        self.summary = RunSummary()
        self._stop = threading.Event()
        self._context: Context | None = None
        #: Wall clock that stands still while the input cannot be fetched (idle timeouts, TTLs).
        self.clock = ProcessingClock()

    # Declaration -------------------------------------------------------------------------------------

    def add(self, processor: Processor) -> Processor:
        """Wire a processor: its sources, stores, timer, rebalance hooks, state and commit gate."""
        if any(existing.name == processor.name for existing in self.processors):
            raise ValueError(f"{self.service} already has a processor named {processor.name!r}")
        for source in processor.sources:
            topic = self.settings.topic_name(source.topic)
            if topic in self.routes:
                raise ValueError(f"topic {topic} is read by two processors of {self.service}")
            self.routes[topic] = Route(source.topic, source.codec, processor)
        for store in processor.stores:
            store.bind(changelog_topic(self.settings, self._group_name, store.name), self.service)
        self.processors.append(processor)
        return processor

    @property
    def topics(self) -> list[str]:
        return [route.logical_topic for route in self.routes.values()]

    @property
    def stores(self) -> list[ChangelogStore]:
        return [store for processor in self.processors for store in processor.stores]

    def stop(self) -> None:
        self._stop.set()

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
        `idle_exit_seconds`. Commits (or checkpoints) on the way out."""
        self._check()
        if install_signal_handlers:
            self._install_signal_handlers()
        bootstrap = self._bootstrap or resolve_bootstrap(self.settings)
        self._prepare_topics(bootstrap)
        started = time.monotonic()
        tracker = RebalanceTracker(self.service)
        consumer: GroupConsumer | None = None
        producer = self._make_producer(bootstrap)
        commits = self._commit_strategy(producer, lambda: consumer, tracker)
        self._context = context = Context(
            self.settings, self.service, self.group_id, commits.send, self.stop, clock=self.clock
        )
        if isinstance(commits, Checkpointed):
            commits.restore(lambda: self._committed(bootstrap))
        loop = ConsumeLoop(
            self.service,
            self.settings.processing,
            self.routes,
            tracker,
            commits,
            LagMonitor(self.service, tracker, self.settings.processing.lag_refresh_seconds),
            self.stores,
            lambda store, partition: read_partition(
                self.settings, bootstrap, store.topic, partition, role=f"{self.service}-restore"
            ),
            context,
            self.summary,
            self.clock,
        )
        try:
            consumer = GroupConsumer(
                self.settings, bootstrap, self.group_id, self.service, co_partitioned=len(self.routes) > 1
            )
            consumer.wait_for_metadata(self.routes)

            def assigned(partitions: list[TopicPartition]) -> None:
                if isinstance(commits, Checkpointed) and consumer is not None:
                    commits.seek_on_assign(consumer, partitions)
                loop.partitions_assigned(partitions)

            consumer.subscribe(
                list(self.routes),
                on_assigned=assigned,
                on_revoked=loop.partitions_revoked,
                on_lost=lambda partitions: loop.partitions_revoked(partitions, lost=True),
            )
            loop.run(consumer, stop_condition(self._stop, stop_event, started, duration), idle_exit_seconds)
            if not self.summary.stopped_by:
                self.summary.stopped_by = (
                    "duration" if duration is not None and not self._stop.is_set() else "stop"
                )
        finally:
            loop.shutdown()
            if consumer is not None:
                consumer.close()
            producer.close(timeout=10)
        self.summary.seconds = time.monotonic() - started
        self.summary.dead_letters = context.dead_letters
        self.summary.late_events = context.late_events
        self.summary.commits = getattr(commits, "commits", 0)
        self.summary.checkpoints = getattr(commits, "checkpoints", 0)
        return self.summary

    def _check(self) -> None:
        if not self.routes:
            raise ValueError("add at least one processor with a source before run()")
        if self.stores and len(self.routes) != 1:
            raise ValueError("changelog state is partitioned like its source: use exactly one source topic")
        if self.stores and self.checkpoints is not None:
            raise ValueError("a service keeps its state in changelog stores or in checkpoints, not both")

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
                partitions = partition_count(admin, next(iter(self.routes)))
                changelogs = {
                    store.topic: TopicSpec(
                        logical_name=store.topic,
                        key="state key",
                        description=f"changelog of {self.service}/{store.name}",
                        cleanup_policy="compact",
                        partitions=partitions,
                        retention_ms=-1,
                        retention_bytes=-1,
                    )
                    for store in self.stores
                }
                ensure_topics(admin, self.settings, extra=changelogs, only=[])
        finally:
            admin.close()

    def _committed(self, bootstrap: str) -> dict[TopicPartition, int]:
        admin = make_admin(self.settings, bootstrap)
        try:
            return {
                partition: offset
                for partition, offset in committed_offsets(admin, self.group_id).items()
                if partition.topic in self.routes
            }
        finally:
            admin.close()

    def _make_producer(self, bootstrap: str) -> OutputProducer:
        if self.checkpoints is None and self.guarantee == "exactly-once":
            return OutputProducer(
                self.settings, bootstrap, role=self.service, transactional_id=self._transactional_id
            )
        return OutputProducer(self.settings, bootstrap, role=self.service)

    @property
    def _transactional_id(self) -> str:
        return f"{self.group_id}-{self.instance_id}"

    def _commit_strategy(
        self, producer: OutputProducer, consumer: Any, tracker: RebalanceTracker
    ) -> CommitStrategy:
        interval = self.settings.processing.commit_interval_ms / 1000.0
        if self.checkpoints is not None:
            return Checkpointed(self.service, producer, consumer, tracker, self.processors, self.checkpoints)
        arguments = (self.service, producer, consumer, tracker, self.processors, self.stores, interval)
        if self.guarantee == "exactly-once":
            return ExactlyOnce(*arguments, transactional_id=self._transactional_id)
        return AtLeastOnce(*arguments)
