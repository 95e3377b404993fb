"""Downsampler throughput against the client's ceiling, CPU cost, peak memory, and state memory per key.

    python benchmarks/windows_bench.py [--machines 1000] [--readings 2000000] [--readings-per-record 20]

Prints one JSON object. Runs against KAFKA_BOOTSTRAP_SERVERS or the local broker (started on demand).
Each measured stage runs in its own process, so peak memory and CPU time are that stage's alone.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import time
import tracemalloc
import uuid
from typing import Any

import numpy as np

from contracts import SENSOR_FIELDS, SensorReadingBatch
from streaming.config import Settings
from streaming.kafka import ensure_topics, make_admin, make_consumer, make_producer, resolve_bootstrap
from streaming.schemas import encode

T0 = 1_767_225_600.0


def produce_readings(
    settings: Settings, bootstrap: str, machines: int, readings: int, per_record: int, hertz: float
) -> int:
    """Readings of `machines` machines at `hertz` readings per second each, `per_record` per Kafka record."""
    producer = make_producer(settings, bootstrap, role="bench", linger_ms=20, batch_size=1_048_576)
    rng = np.random.default_rng(1)
    topic = settings.topic_name("sensor_readings")
    rounds = max(1, readings // (machines * per_record))
    sent = 0
    for round_number in range(rounds):
        base = T0 + round_number * per_record / hertz
        times = (base + np.arange(per_record) / hertz).tolist()
        noise = rng.normal(0, 1, (machines, len(SENSOR_FIELDS), per_record))
        centre = np.array([298.0, 308.0, 1500.0, 40.0, 2.0, 50.0])[None, :, None]
        scale = np.array([0.5, 0.5, 20.0, 3.0, 0.3, 0.0])[None, :, None]
        values = np.abs(centre + scale * noise)
        for machine in range(machines):
            batch = SensorReadingBatch(
                machine_id=f"m-{machine:06d}",
                machine_type="LMH"[machine % 3],
                event_time=times,  # type: ignore[arg-type]
                **{name: values[machine, index].tolist() for index, name in enumerate(SENSOR_FIELDS)},
            )
            producer.send(
                topic, key=batch.machine_id.encode(), value=encode(batch), timestamp_ms=int(base * 1000)
            )
            sent += per_record
    producer.flush()
    producer.close()
    return sent


def _usage() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def raw_consume(settings: Settings, bootstrap: str, records: int, queue: Any) -> None:
    """The client's ceiling: kafka-python reading the same topic with no decoding at all."""
    consumer = make_consumer(settings, bootstrap, group_id=None, role="bench-raw", max_poll_records=10_000)
    topic = settings.topic_name("sensor_readings")
    from streaming.kafka import TopicPartition

    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    cpu_before, _ = _usage()
    seen = 0
    started = time.perf_counter()
    while seen < records:
        for batch in consumer.poll(timeout_ms=500).values():
            seen += len(batch)
    elapsed = time.perf_counter() - started
    cpu_after, peak = _usage()
    consumer.close()
    queue.put(
        {"records": seen, "seconds": elapsed, "cpu_seconds": cpu_after - cpu_before, "peak_rss_mb": peak}
    )


def downsample(settings: Settings, bootstrap: str, records: int, guarantee: str, queue: Any) -> None:
    from consumers.downsampler.service import build

    processing = settings.processing.model_copy(
        update={"processing_guarantee": guarantee, "max_poll_records": 5000}
    )
    windows = settings.windows.model_copy(update={"group_id": f"downsampler-{guarantee}"})
    settings = settings.model_copy(update={"processing": processing, "windows": windows})
    app = build(settings, bootstrap, instance_id=f"bench-{guarantee}")
    cpu_before, _ = _usage()
    timing: dict[str, float] = {}

    def watch() -> None:
        # Timed from the first record, so group join and state restore are not counted as throughput.
        while app.summary.records_in == 0:
            time.sleep(0.005)
        timing["first"] = time.perf_counter()
        while app.summary.records_in < records:
            time.sleep(0.01)
        timing["last"] = time.perf_counter()
        app.stop()

    import threading

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    summary = app.run(duration=600)
    cpu_after, peak = _usage()
    queue.put(
        {
            "records": summary.records_in,
            "seconds": timing["last"] - timing["first"],
            "cpu_seconds": cpu_after - cpu_before,
            "peak_rss_mb": peak,
            "commits": summary.commits,
            "late_events": summary.late_events,
            "windows_out": app.summary.per_topic,
        }
    )


def state_memory(keys: int, ttl_seconds: float, queue: Any) -> None:
    """Memory held by window state with `keys` live keys, and after they go silent past the TTL."""
    from consumers.downsampler.service import sensor_columns
    from streaming.app import Source
    from streaming.app.context import Context
    from streaming.app.record import Record
    from streaming.schemas import Codec
    from streaming.windows import HoppingWindows, WindowedAggregation

    settings = Settings()
    sent: list[int] = []
    context = Context(settings, "bench", "bench", lambda *args, **options: sent.append(1))
    clock = {"now": 0.0}
    aggregation = WindowedAggregation(
        Source("sensor_readings", Codec(SensorReadingBatch)),
        windows=HoppingWindows(10.0, 10.0),
        output_topic="sensor_windows",
        fields=list(SENSOR_FIELDS),
        extract=sensor_columns,
        service="bench",
        allowed_lateness=5.0,
        idle_timeout=ttl_seconds,
        state_ttl=ttl_seconds,
        clock=lambda: clock["now"],
    )
    aggregation.partitions_assigned([0])
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    batch = []
    for key in range(keys):
        event = SensorReadingBatch(
            machine_id=f"m-{key:06d}",
            machine_type="M",
            event_time=[T0 + 1, T0 + 2],
            **{name: [1.0 + key % 7, 2.0] for name in SENSOR_FIELDS},
        )
        batch.append((event, Record("t", 0, key, None, None, 0)))
        if len(batch) == 5000:
            aggregation.process(batch, context)
            batch = []
    if batch:
        aggregation.process(batch, context)
    live = tracemalloc.get_traced_memory()[0] - baseline
    live_entries = aggregation.store.size()
    clock["now"] = ttl_seconds * 3
    aggregation.on_timer(clock["now"], context)  # closes idle windows
    aggregation.on_timer(clock["now"], context)  # forgets silent keys
    aggregation.store.flush(lambda *args, **options: None)
    after = tracemalloc.get_traced_memory()[0] - baseline
    queue.put(
        {
            "keys": keys,
            "state_entries_live": live_entries,
            "state_bytes_live": live,
            "bytes_per_key": live / keys,
            "state_entries_after_ttl": aggregation.store.size(),
            "state_bytes_after_ttl": after,
            "windows_emitted_on_idle": len(sent),
        }
    )


def in_process(target: Any, *args: Any) -> dict[str, Any]:
    queue: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get(timeout=900)
    process.join(timeout=60)
    return result  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--readings", type=int, default=2_000_000)
    parser.add_argument("--readings-per-record", type=int, default=20)
    parser.add_argument(
        "--hertz", type=float, default=10.0, help="readings per second per machine (event time)"
    )
    parser.add_argument("--state-keys", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()

    settings = Settings(
        topics={"prefix": f"bench{uuid.uuid4().hex[:6]}.", "partitions": args.partitions},
        windows={"window_size_seconds": 10.0, "allowed_lateness_seconds": 5.0},
    )
    bootstrap = resolve_bootstrap(settings)
    admin = make_admin(settings, bootstrap)
    ensure_topics(admin, settings)
    admin.close()
    started = time.perf_counter()
    readings = produce_readings(
        settings, bootstrap, args.machines, args.readings, args.readings_per_record, args.hertz
    )
    produce_seconds = time.perf_counter() - started
    records = readings // args.readings_per_record

    raw = in_process(raw_consume, settings, bootstrap, records)
    exactly_once = in_process(downsample, settings, bootstrap, records, "exactly-once")
    at_least_once = in_process(downsample, settings, bootstrap, records, "at-least-once")
    state = in_process(state_memory, args.state_keys, 60.0)

    def rate(stage: dict[str, Any]) -> float:
        return stage["records"] * args.readings_per_record / stage["seconds"]

    result = {
        "benchmark": "windows",
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "machines": args.machines,
        "readings": readings,
        "readings_per_record": args.readings_per_record,
        "window": "tumbling 10 s, lateness 5 s",
        "reading_hertz": args.hertz,
        "produce_readings_per_second": readings / produce_seconds,
        "raw_consume": {
            "records_per_second": raw["records"] / raw["seconds"],
            "readings_per_second": rate(raw),
            "cpu_seconds_per_million_readings": raw["cpu_seconds"] / readings * 1e6,
        },
        "downsampler_exactly_once": {
            "readings_per_second": rate(exactly_once),
            "ratio_to_raw_consume": rate(exactly_once) / rate(raw),
            "cpu_seconds_per_million_readings": exactly_once["cpu_seconds"] / readings * 1e6,
            "peak_rss_mb": exactly_once["peak_rss_mb"],
            "transactions": exactly_once["commits"],
            "late_events": exactly_once["late_events"],
        },
        "downsampler_at_least_once": {
            "readings_per_second": rate(at_least_once),
            "ratio_to_raw_consume": rate(at_least_once) / rate(raw),
            "cpu_seconds_per_million_readings": at_least_once["cpu_seconds"] / readings * 1e6,
            "peak_rss_mb": at_least_once["peak_rss_mb"],
        },
        "state_memory": state,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
