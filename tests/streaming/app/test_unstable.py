"""Partitions stuck behind offset commits the broker keeps unstable: found on a real broker, and the
remedy (an aborted offsets-only transaction, or a new producer) leaves the committed offsets as they were."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any, cast

import pytest

from streaming.app.commits import ExactlyOnce
from streaming.app.loop import ConsumeLoop, RunSummary
from streaming.app.rebalance import RebalanceTracker
from streaming.app.unstable import UnstableOffsetsWatch
from streaming.config import ProcessingSettings, Settings
from streaming.kafka import (
    GroupConsumer,
    KafkaError,
    OutputProducer,
    TopicPartition,
    is_rebalance_in_progress,
)

# The watch --------------------------------------------------------------------------------------------------

READINGS_0 = TopicPartition("readings", 0)
READINGS_1 = TopicPartition("readings", 1)


def test_a_partition_is_overdue_only_after_waiting_past_the_patience() -> None:
    watch = UnstableOffsetsWatch(patience_seconds=45.0)
    assert watch.overdue({READINGS_0}, now=0.0) == []
    assert watch.overdue({READINGS_0}, now=45.0) == []
    assert watch.overdue({READINGS_0, READINGS_1}, now=45.5) == [READINGS_0]
    assert watch.attempts == 1


def test_a_partition_that_got_its_position_starts_from_zero_when_it_waits_again() -> None:
    watch = UnstableOffsetsWatch(patience_seconds=10.0)
    watch.overdue({READINGS_0}, now=0.0)
    watch.overdue(set(), now=9.0)
    assert watch.overdue({READINGS_0}, now=15.0) == []
    assert watch.overdue({READINGS_0}, now=25.5) == [READINGS_0]


def test_a_stuck_partition_is_reported_once_per_patience_period() -> None:
    watch = UnstableOffsetsWatch(patience_seconds=10.0)
    watch.overdue({READINGS_0}, now=0.0)
    reports = [watch.overdue({READINGS_0}, now=float(second)) for second in range(1, 40)]
    assert sum(1 for report in reports if report) == 3
    assert watch.attempts == 3


# On a real broker ------------------------------------------------------------------------------------------

kafka = pytest.mark.kafka


@pytest.fixture
def member(topics: Settings) -> Iterator[tuple[GroupConsumer, TopicPartition, str]]:
    """A group member that owns every partition of the labels topic, with offset 3 committed on each."""
    group = f"{topics.topics.prefix}unstable-{uuid.uuid4().hex[:6]}"
    topic = topics.topic_name("labels")
    consumer = GroupConsumer(topics, topics.kafka.bootstrap_servers or "", group, "test")
    assigned: list[TopicPartition] = []
    consumer.wait_for_metadata([topic])
    consumer.subscribe([topic], assigned.extend, lambda revoked: None, lambda lost: None)
    deadline = time.monotonic() + 60
    while not assigned and time.monotonic() < deadline:
        consumer.poll(timeout_ms=200)
    assert assigned, "the member was never assigned the labels topic"
    # A join can be followed at once by another round (seen in CI under load): commit once it is over.
    deadline = time.monotonic() + 60
    while True:
        try:
            consumer.commit(dict.fromkeys(set(assigned), 3))
            break
        except KafkaError as error:
            if not is_rebalance_in_progress(error) or time.monotonic() > deadline:
                raise
            consumer.poll(timeout_ms=200)
    try:
        yield consumer, min(assigned, key=lambda partition: partition.partition), group
    finally:
        consumer.close()


def exactly_once(settings: Settings, consumer: GroupConsumer) -> ExactlyOnce:
    transactional_id = f"unstable-{uuid.uuid4().hex}"
    producer = OutputProducer(settings, settings.kafka.bootstrap_servers or "", "test", transactional_id)
    return ExactlyOnce(
        "unstable-test",
        producer,
        lambda: consumer,
        RebalanceTracker("unstable-test"),
        [],
        [],
        1.0,
        transactional_id=transactional_id,
    )


@kafka
def test_the_remedy_leaves_the_committed_offsets_as_they_were(
    topics: Settings, member: tuple[GroupConsumer, TopicPartition, str]
) -> None:
    consumer, partition, _group = member
    strategy = exactly_once(topics, consumer)
    try:
        assert strategy.clear_unstable([partition], renew=False) is True
        assert strategy.in_transaction is False
        assert consumer.committed(partition) == 3
        assert strategy.clear_unstable([partition], renew=True) is True
        assert strategy.producer.renewals == 1
        assert consumer.committed(partition) == 3
        # The strategy still commits normally afterwards.
        strategy.tracker.assigned_now([partition])
        strategy.tracker.advance(partition, 9)
        strategy.commit(force=True)
        assert consumer.committed(partition) == 9
    finally:
        strategy.producer.close()


@kafka
def test_a_partition_behind_an_open_transaction_is_seen_waiting_for_its_offsets(
    topics: Settings, member: tuple[GroupConsumer, TopicPartition, str]
) -> None:
    consumer, partition, group = member
    # Another producer holds a transaction with offsets for the group open: a new member of the group then
    # cannot learn where to start on that partition until it ends.
    holder = OutputProducer(
        topics,
        topics.kafka.bootstrap_servers or "",
        "test",
        f"unstable-holder-{uuid.uuid4().hex}",
        transaction_timeout_ms=300_000,
    )
    newcomer: GroupConsumer | None = None
    try:
        holder.begin_transaction()
        holder.send_offsets_to_transaction({partition: 5}, consumer.group_metadata())
        consumer.close()
        newcomer = GroupConsumer(topics, topics.kafka.bootstrap_servers or "", group, "test-newcomer")
        assigned: list[TopicPartition] = []
        newcomer.wait_for_metadata([partition.topic])
        newcomer.subscribe([partition.topic], assigned.extend, lambda revoked: None, lambda lost: None)
        deadline = time.monotonic() + 60
        waiting: set[TopicPartition] = set()
        while time.monotonic() < deadline and partition not in waiting:
            newcomer.poll(timeout_ms=200)
            waiting = newcomer.awaiting_committed_offsets() if assigned else set()
        assert partition in waiting, f"assigned {assigned}, waiting {waiting}"
        # kafka-python asks for all its partitions in one request: one unstable partition holds up all.
        assert waiting == set(assigned)
        holder.abort_transaction()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and newcomer.awaiting_committed_offsets():
            newcomer.poll(timeout_ms=200)
        assert newcomer.awaiting_committed_offsets() == set()
        assert newcomer.committed(partition) == 3  # the aborted 5 never counted
    finally:
        holder.close(timeout=5)
        if newcomer is not None:
            newcomer.close()


# The loop --------------------------------------------------------------------------------------------------


class RecordingCommits:
    def __init__(self) -> None:
        self.clears: list[tuple[list[TopicPartition], bool]] = []

    def clear_unstable(self, partitions: list[TopicPartition], renew: bool) -> bool:
        self.clears.append((partitions, renew))
        return True


class WaitingConsumer:
    def __init__(self, waiting: set[TopicPartition]) -> None:
        self.waiting = waiting
        self.reachable = True

    def can_fetch(self) -> bool:
        return self.reachable

    def awaiting_committed_offsets(self) -> set[TopicPartition]:
        return self.waiting


def stuck_loop(commits: RecordingCommits) -> ConsumeLoop:
    tracker = RebalanceTracker("unstable-loop")
    tracker.assigned_now([READINGS_0])
    loop = ConsumeLoop(
        "unstable-loop",
        ProcessingSettings(),
        {},
        tracker,
        cast(Any, commits),
        cast(Any, None),
        [],
        cast(Any, None),
        cast(Any, None),
        RunSummary(),
    )
    loop.unstable = UnstableOffsetsWatch(patience_seconds=0.0)
    return loop


def check(loop: ConsumeLoop, consumer: WaitingConsumer) -> None:
    loop._unstable_checked = 0.0  # the loop looks once a second; the test looks at every call
    time.sleep(0.01)  # a patience of 0 is passed once any time has gone by
    loop._clear_unstable_offsets(cast(Any, consumer))


def test_the_loop_first_aborts_an_offsets_only_transaction_then_replaces_the_producer() -> None:
    commits = RecordingCommits()
    loop = stuck_loop(commits)
    consumer = WaitingConsumer({READINGS_0})
    for _ in range(3):
        check(loop, consumer)
    assert commits.clears == [([READINGS_0], False), ([READINGS_0], True)]


def test_the_loop_leaves_partitions_alone_while_the_broker_cannot_be_reached() -> None:
    commits = RecordingCommits()
    loop = stuck_loop(commits)
    consumer = WaitingConsumer({READINGS_0})
    consumer.reachable = False
    for _ in range(3):
        check(loop, consumer)
    consumer.waiting = set()
    consumer.reachable = True
    for _ in range(3):
        check(loop, consumer)
    assert commits.clears == []
