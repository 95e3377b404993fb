"""The fraud service on the local broker: event-to-score latency at an offered load, and the maximum
sustained rate of one process.

    .venv/bin/python benchmarks/fraud_bench.py [--rate 2000 --seconds 20 --backlog 30000]

1. Latency: `streaming consume fraud` runs as its own process; this process offers `--rate` tx/s for
   `--seconds`, stamping each transaction with the wall clock as its event time (chargebacks follow 5 s
   later for the fraudulent ones, so the learning path runs too). The score records' event-to-score
   latencies give p50/p99.
2. Throughput: `--backlog` transactions are produced first; a fresh service then scores them all; the rate
   is scores over the span of their `scored_at`.

Prints JSON. Needs the broker at --bootstrap (default 127.0.0.1:9092). Every topic gets a unique prefix.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import msgspec
import numpy as np

from consumers.learning.synthetic import FraudStream
from contracts import Label, Score
from streaming.config import Settings
from streaming.kafka import TopicPartition, ensure_topics, make_admin, make_consumer, make_producer
from streaming.schemas import encode

ROOT = Path(__file__).resolve().parent.parent
STREAMING = str(ROOT / ".venv" / "bin" / "streaming")


def settings_for(bootstrap: str) -> Settings:
    return Settings(
        kafka={"bootstrap_servers": bootstrap}, topics={"prefix": f"bench{uuid.uuid4().hex[:8]}."}
    )


def create_topics(settings: Settings) -> None:
    admin = make_admin(settings, settings.kafka.bootstrap_servers or "")
    try:
        ensure_topics(admin, settings)
    finally:
        admin.close()


CHALLENGER = "default"


def start_service(settings: Settings, state: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "STREAMING_FRAUD__LABEL_HORIZON_SECONDS": "30"}
    if CHALLENGER != "default":
        env["STREAMING_FRAUD__CHALLENGER"] = CHALLENGER
    return subprocess.Popen(
        [
            STREAMING,
            "consume",
            "fraud",
            "--bootstrap",
            settings.kafka.bootstrap_servers or "",
            "--topic-prefix",
            settings.topics.prefix,
            "--no-metrics",
            "--checkpoint-dir",
            str(state),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_scores(settings: Settings, expected: int, timeout: float = 60.0) -> list[Score]:
    consumer = make_consumer(settings, settings.kafka.bootstrap_servers or "", group_id=None)
    topic = settings.topic_name("scores")
    decoder = msgspec.json.Decoder(Score)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        scores: list[Score] = []
        deadline = time.monotonic() + timeout
        idle_since = time.monotonic()
        while time.monotonic() < deadline and len(scores) < expected:
            batch = consumer.poll(timeout_ms=500, max_records=10_000)
            for records in batch.values():
                scores.extend(decoder.decode(record.value) for record in records)
            if batch:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 10:
                break
        return scores
    finally:
        consumer.close()


def offered_load(bootstrap: str, rate: float, seconds: float) -> dict[str, object]:
    settings = settings_for(bootstrap)
    create_topics(settings)
    with tempfile.TemporaryDirectory() as state:
        service = start_service(settings, Path(state), "--duration", str(seconds + 25))
        time.sleep(8)  # join the group before the load starts
        producer = make_producer(settings, bootstrap, role="bench", linger_ms=2)
        stream = FraudStream(seed=1, cards=20_000, rate_per_second=rate)
        transactions, labels = settings.topic_name("transactions"), settings.topic_name("labels")
        pending: list[Label] = []
        sent = 0
        started = time.time()
        while (now := time.time()) - started < seconds:
            due = int((now - started) * rate) - sent
            for _ in range(due):
                tx, fraud = stream.transaction()
                tx = msgspec.structs.replace(tx, event_time=time.time())
                producer.send(
                    transactions,
                    key=tx.card_id.encode(),
                    value=encode(tx),
                    timestamp_ms=int(tx.event_time * 1000),
                )
                sent += 1
                if fraud:
                    pending.append(
                        Label(
                            kind="chargeback",
                            entity_id=tx.card_id,
                            event_time=tx.event_time,
                            reported_time=tx.event_time + 5,
                            transaction_id=tx.transaction_id,
                        )
                    )
            while pending and pending[0].reported_time <= now:
                label = pending.pop(0)
                producer.send(
                    labels,
                    key=label.entity_id.encode(),
                    value=encode(label),
                    timestamp_ms=int(label.reported_time * 1000),
                )
            time.sleep(0.002)
        producer.flush()
        producer.close()
        elapsed = time.time() - started
        output, _ = service.communicate(timeout=seconds + 90)
    scores = read_scores(settings, sent)
    latencies = np.array([score.event_to_score_latency_seconds for score in scores]) * 1000
    return {
        "offered_tx_per_second": rate,
        "achieved_offered_tx_per_second": round(sent / elapsed),
        "transactions": sent,
        "scores": len(scores),
        "event_to_score_ms_p50": round(float(np.percentile(latencies, 50)), 2),
        "event_to_score_ms_p99": round(float(np.percentile(latencies, 99)), 2),
        "event_to_score_ms_max": round(float(latencies.max()), 2),
        "processing_ms_p99": round(
            float(np.percentile([s.processing_latency_seconds for s in scores], 99)) * 1000, 3
        ),
        "slow_seconds": slow_seconds(scores),
        "service": output.strip().splitlines()[-1] if output.strip() else "",
    }


def slow_seconds(scores: list[Score], over_ms: float = 50.0) -> list[list[float]]:
    """The seconds of the run (from its first score) holding scores slower than `over_ms`, with how many:
    a tail from a few periodic pauses shows as a few seconds with many, a slow path as many with few."""
    if not scores:
        return []
    first = min(score.scored_at for score in scores)
    counts: dict[int, int] = {}
    for score in scores:
        if score.event_to_score_latency_seconds * 1000 > over_ms:
            second = int(score.scored_at - first)
            counts[second] = counts.get(second, 0) + 1
    return [[second, count] for second, count in sorted(counts.items())]


def max_throughput(bootstrap: str, backlog: int) -> dict[str, object]:
    settings = settings_for(bootstrap)
    create_topics(settings)
    producer = make_producer(settings, bootstrap, role="bench")
    stream = FraudStream(seed=2, cards=20_000, rate_per_second=2_000)
    topic = settings.topic_name("transactions")
    for tx, _ in stream.labelled(backlog):
        producer.send(
            topic, key=tx.card_id.encode(), value=encode(tx), timestamp_ms=int(tx.event_time * 1000)
        )
    producer.flush()
    producer.close()
    with tempfile.TemporaryDirectory() as state:
        service = start_service(settings, Path(state), "--max-events", str(backlog), "--duration", "300")
        output, _ = service.communicate(timeout=400)
    scores = read_scores(settings, backlog)
    stamps = sorted(score.scored_at for score in scores)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
    return {
        "backlog": backlog,
        "scores": len(scores),
        "sustained_tx_per_second": round(len(scores) / span) if span == span and span > 0 else None,
        "service": output.strip().splitlines()[-1] if output.strip() else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--rate", type=float, default=2_000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backlog", type=int, default=30_000)
    parser.add_argument(
        "--challenger",
        default="default",
        help='fraud.challenger as JSON: "null" for none, or e.g. {"model": "logistic", "imbalance": "under"}',
    )
    args = parser.parse_args()
    global CHALLENGER
    CHALLENGER = args.challenger
    report = {
        "cpu_count": os.cpu_count(),
        "challenger": args.challenger,
        "latency": offered_load(args.bootstrap, args.rate, args.seconds),
        "throughput": max_throughput(args.bootstrap, args.backlog),
    }
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
