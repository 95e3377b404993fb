"""The client's ceiling: raw kafka-python produce and consume rates on the configured broker.

Produces `--records` values of `--value-bytes` bytes to a fresh topic (idempotent, acks=all: the pipeline's
producer settings), then reads them back from the beginning without a group, once raw and once decoding each
value with orjson. Nothing of the pipeline runs: every other benchmark is judged against these numbers.

    python benchmarks/kafka_baseline.py --records 200000        # prints one JSON object
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import Any

import orjson

from streaming.config import Settings
from streaming.kafka import (
    TopicPartition,
    ensure_topics,
    make_admin,
    make_consumer,
    make_producer,
    resolve_bootstrap,
)
from streaming.topics import TopicSpec


def _value(size: int, index: int) -> bytes:
    body = {"id": f"t-{index:012d}", "card_id": f"c-{index % 5000:06d}", "amount": 12.34, "pad": ""}
    encoded = orjson.dumps(body)
    body["pad"] = "x" * max(0, size - len(encoded))
    return orjson.dumps(body)


def produce(settings: Settings, bootstrap: str, topic: str, records: int, value_bytes: int) -> dict[str, Any]:
    producer = make_producer(settings, bootstrap, role="bench-baseline")
    values = [_value(value_bytes, index) for index in range(min(records, 10_000))]
    keys = [f"c-{index % 5000:06d}".encode() for index in range(len(values))]
    started = time.perf_counter()
    cpu_started = time.process_time()
    for index in range(records):
        producer.send(topic, key=keys[index % len(keys)], value=values[index % len(values)])
    producer.flush(timeout=120)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    producer.close(timeout=10)
    return {
        "records": records,
        "seconds": round(elapsed, 3),
        "records_per_second": round(records / elapsed),
        "megabytes_per_second": round(records * value_bytes / elapsed / 1e6, 2),
        "cpu_seconds_per_million_records": round(cpu / records * 1e6, 1),
    }


def consume(settings: Settings, bootstrap: str, topic: str, records: int, decode: bool) -> dict[str, Any]:
    consumer = make_consumer(
        settings,
        bootstrap,
        group_id=None,
        role="bench-baseline",
        max_poll_records=10_000,
        fetch_min_bytes=1,
        fetch_max_wait_ms=100,
    )
    partitions = [
        TopicPartition(topic, partition) for partition in sorted(consumer.partitions_for_topic(topic) or [])
    ]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    seen = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    deadline = time.monotonic() + 300
    while seen < records and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            if decode:
                for record in batch:
                    orjson.loads(record.value)
            seen += len(batch)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    consumer.close()
    return {
        "records": seen,
        "seconds": round(elapsed, 3),
        "records_per_second": round(seen / elapsed),
        "cpu_seconds_per_million_records": round(cpu / max(seen, 1) * 1e6, 1),
    }


def run(records: int, value_bytes: int, partitions: int, bootstrap: str | None) -> dict[str, Any]:
    settings = Settings(topics={"prefix": f"bench-{uuid.uuid4().hex[:8]}.", "partitions": partitions})
    if bootstrap:
        settings = settings.model_copy(
            update={"kafka": settings.kafka.model_copy(update={"bootstrap_servers": bootstrap})}
        )
    server = resolve_bootstrap(settings)
    topic = f"{settings.topics.prefix}baseline"
    admin = make_admin(settings, server)
    spec = TopicSpec(topic, "id", "the raw-client baseline", partitions=partitions)
    ensure_topics(admin, settings, extra={topic: spec}, only=[])
    try:
        time.sleep(1.0)  # let partition leadership settle before timing
        produced = produce(settings, server, topic, records, value_bytes)
        raw = consume(settings, server, topic, records, decode=False)
        decoded = consume(settings, server, topic, records, decode=True)
    finally:
        admin.delete_topics([topic])
        admin.close()
    return {
        "benchmark": "kafka_baseline",
        "client": "kafka-python",
        "bootstrap": server,
        "partitions": partitions,
        "value_bytes": value_bytes,
        "produce": produced,
        "consume_raw": raw,
        "consume_orjson": decoded,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--value-bytes", type=int, default=180)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    args = parser.parse_args(argv)
    result = run(args.records, args.value_bytes, args.partitions, args.bootstrap)
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
