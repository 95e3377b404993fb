"""`OutputProducer.send_many` against the real broker: every record arrives once, on its key's partition,
in order, inside the transaction (and nothing of an aborted one)."""

from __future__ import annotations

import uuid

import pytest
from kafka.partitioner.default import DefaultPartitioner

from streaming.config import Settings
from streaming.kafka import OutputProducer
from tests.support.kafka import read_all

pytestmark = pytest.mark.kafka


class Cluster:
    def __init__(self, partitions: int) -> None:
        self.partitions = set(range(partitions))

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    available_partitions_for_topic = partitions_for_topic

    def topics(self) -> set[str]:
        return {"t"}


def records(count: int, prefix: bytes) -> list[tuple[bytes, bytes, int]]:
    # Values big enough that small batches fill often: most records go into a batch another opened.
    return [
        (b"m-%04d" % (n % 97), prefix + b"%06d" % n + b"x" * 700, 1_767_225_600_000 + n) for n in range(count)
    ]


@pytest.mark.parametrize("transactional", [True, False], ids=["transaction", "idempotent"])
def test_many_records_arrive_once_in_order_on_their_key_s_partition(
    topics: Settings, transactional: bool
) -> None:
    topic = topics.topic_name("sensor_windows")
    producer = OutputProducer(
        topics,
        topics.kafka.bootstrap_servers or "",
        role="test",
        transactional_id=f"test-{uuid.uuid4().hex[:6]}" if transactional else None,
        batch_size=16_384,
    )
    sent = records(3_000, b"a")
    try:
        if transactional:
            producer.begin_transaction()
        producer.send_many(topic, sent[:1_000])
        producer.send_many(topic, sent[1_000:])
        if transactional:
            producer.commit_transaction()
        else:
            producer.flush()
    finally:
        producer.close()
    got = read_all(topics, topic, expected=len(sent))
    assert sorted((r.key, r.value, r.timestamp) for r in got) == sorted(sent)
    from streaming.kafka import make_admin, partition_count

    admin = make_admin(topics, topics.kafka.bootstrap_servers or "")
    try:
        cluster = Cluster(partition_count(admin, topic))
    finally:
        admin.close()
    assert len(cluster.partitions) > 1
    default = DefaultPartitioner()
    by_partition: dict[int, list[bytes]] = {}
    for record in got:
        assert record.partition == default.partition("t", None, record.key, None, None, cluster)
        by_partition.setdefault(record.partition, []).append(record.value)
    for values in by_partition.values():
        assert values == sorted(values)  # the order they were sent in, partition by partition


def test_nothing_of_an_aborted_transaction_is_read(topics: Settings) -> None:
    topic = topics.topic_name("sensor_windows")
    producer = OutputProducer(
        topics,
        topics.kafka.bootstrap_servers or "",
        role="test",
        transactional_id=f"test-{uuid.uuid4().hex[:6]}",
    )
    try:
        producer.begin_transaction()
        producer.send_many(topic, records(500, b"a"))
        producer.abort_transaction()
        producer.begin_transaction()
        producer.send_many(topic, records(20, b"b"))
        producer.commit_transaction()
    finally:
        producer.close()
    got = read_all(topics, topic, expected=20, idle_seconds=1.0)
    assert len(got) == 20 and all(r.value.startswith(b"b") for r in got)


def test_records_sent_to_one_partition_stay_there_tombstones_included(topics: Settings) -> None:
    topic = topics.topic_name("sensor_windows")
    producer = OutputProducer(
        topics,
        topics.kafka.bootstrap_servers or "",
        role="test",
        transactional_id=f"test-{uuid.uuid4().hex[:6]}",
    )
    sent = [(b"k-%d" % n, None if n % 5 == 0 else b"v-%d" % n, None) for n in range(300)]
    try:
        producer.begin_transaction()
        producer.send_many(topic, sent, partition=1)
        producer.commit_transaction()
    finally:
        producer.close()
    got = read_all(topics, topic, expected=len(sent))
    assert {r.partition for r in got} == {1}
    assert [(r.key, r.value) for r in got] == [(key, value) for key, value, _ in sent]


def test_a_failed_batch_of_appended_records_is_the_producer_s_failure(topics: Settings) -> None:
    topic = topics.topic_name("sensor_windows")
    # A long linger keeps the batches open, so that they can be failed before they are sent.
    producer = OutputProducer(topics, topics.kafka.bootstrap_servers or "", role="test", linger_ms=60_000)
    client = producer._producer
    try:
        # The batch is opened by a record that no `send` of the wrapper watches: only send_many's own
        # registration can report the failure of the records it appends.
        client.send(topic, key=b"m-0001", value=b"first", partition=0)
        producer.send_many(topic, [(b"m-0001", b"appended-%d" % n, None) for n in range(50)], partition=0)
        assert producer.failure() is None
        client._accumulator.abort_batches(RuntimeError("the batch was lost"))
        failure = producer.failure()
        assert failure is not None and "the batch was lost" in failure
        producer.mark()
        assert producer.failure() is None
    finally:
        producer.close(timeout=0)
