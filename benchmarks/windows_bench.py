"""The downsampler against the client's ceiling and Quix Streams 3, from one run: throughput, CPU, memory.

    python benchmarks/windows_bench.py                       # full scale: the issue's configurations
    python benchmarks/windows_bench.py --scale small         # a quick check that every part works
    python benchmarks/windows_bench.py --scenarios default --jobs raw,exactly_once,quix
    python benchmarks/windows_bench.py --rows benchmarks/results/windows.json   # README Results rows

Scenarios (1,000 machines, 10 s tumbling windows, 5 s allowed lateness; records as the sensor producer
sends them, one machine's consecutive readings column by column):
- `default`: one reading per second, 10 per record (each record is one window);
- `one_per_record`: one reading per second, one per record;
- `ten_hertz`: ten readings per second, 100 per record (100 readings per window).

Jobs, each in its own process so that CPU time and peak memory are that job's alone, all on the same topic:
`raw` (kafka-python reading it, no decoding), `raw_decode` (and decoding every record), `exactly_once`,
`at_least_once`, `exactly_once_quix_statistics` (ours with only count, mean, min and max: Quix's job),
`quix` (Quix Streams 3 in its own virtualenv, `.bench-venvs/quix`, made on first use; "skipped" with the
reason when it cannot be installed) and `two_processes` (two downsamplers in one group).

Throughput is measured from each process's progress, sampled every few milliseconds, between its first
record and the end of the input; CPU seconds (user + system, all threads) over the same span. The broker's
CPU over each job is reported too when it is the local broker (same cores). Prints one JSON object. Runs
against KAFKA_BOOTSTRAP_SERVERS or the local broker (started on demand); deletes its topics afterwards.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from contracts import SENSOR_FIELDS, SensorReadingBatch
from streaming.config import Settings
from streaming.kafka import ensure_topics, make_admin, make_consumer, make_producer, resolve_bootstrap
from streaming.kafka.partitioner import RememberingPartitioner
from streaming.schemas import encode

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
T0 = 1_767_225_600.0
FULL_STATISTICS = ["count", "mean", "min", "max", "std", "first", "last", "slope", "p95"]
QUIX_STATISTICS = ["count", "mean", "min", "max"]
QUIX_REQUIREMENT = "quixstreams>=3,<4"


@dataclass(frozen=True)
class Scenario:
    name: str
    hertz: float
    readings_per_record: int
    full_readings: int
    small_readings: int
    jobs: tuple[str, ...]


SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "default",
            1.0,
            10,
            3_000_000,
            100_000,
            (
                "raw",
                "raw_decode",
                "exactly_once",
                "at_least_once",
                "exactly_once_quix_statistics",
                "quix",
                "two_processes",
            ),
        ),
        Scenario(
            "one_per_record",
            1.0,
            1,
            600_000,
            20_000,
            ("raw", "exactly_once", "exactly_once_quix_statistics", "quix"),
        ),
        Scenario("ten_hertz", 10.0, 100, 5_000_000, 200_000, ("raw", "exactly_once", "at_least_once")),
    )
}

GOALS = (
    ("downsampler, default stream, exactly-once, one process, readings/s", ">= 350,000"),
    ("same, ratio to raw kafka-python consume", ">= 0.25"),
    ("downsampler, 100 readings per window (10 Hz), one process, readings/s", ">= 1,000,000"),
    ("downsampler against Quix Streams 3, same topic and job", ">= 5x"),
    ("two processes against one, same group", ">= 1.7x"),
    ("CPU-seconds per million readings, downsampler", "<= 3"),
)


# Input ---------------------------------------------------------------------------------------------------


def produce_readings(
    settings: Settings, bootstrap: str, machines: int, readings: int, per_record: int, hertz: float
) -> int:
    """Readings of `machines` machines at `hertz` readings per second each, `per_record` per Kafka record."""
    producer = make_producer(
        settings,
        bootstrap,
        role="bench",
        linger_ms=20,
        batch_size=1_048_576,
        partitioner=RememberingPartitioner(),
    )
    rng = np.random.default_rng(1)
    topic = settings.topic_name("sensor_readings")
    rounds = max(1, readings // (machines * per_record))
    centre = np.array([298.0, 308.0, 1500.0, 40.0, 2.0, 50.0])[None, :, None]
    scale = np.array([0.5, 0.5, 20.0, 3.0, 0.3, 0.0])[None, :, None]
    sent = 0
    for round_number in range(rounds):
        base = T0 + round_number * per_record / hertz
        times = (base + np.arange(per_record) / hertz).tolist()
        values = np.abs(centre + scale * rng.normal(0, 1, (machines, len(SENSOR_FIELDS), per_record)))
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


# Measuring -----------------------------------------------------------------------------------------------


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Progress:
    """Samples (monotonic time, records so far, CPU seconds so far) of this process every few ms."""

    def __init__(self, count: Any, interval_seconds: float = 0.005) -> None:
        self.count = count
        self.interval_seconds = interval_seconds
        self.samples: list[tuple[float, int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> list[tuple[float, int, float]]:
        self._stop.set()
        self._thread.join(timeout=5)
        self.samples.append((time.monotonic(), self.count(), _cpu_seconds()))
        return self.samples

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), self.count(), _cpu_seconds()))
            time.sleep(self.interval_seconds)


def _at(samples: list[list[float]], moment: float) -> tuple[float, float]:
    """(records, cpu) of the last sample at or before `moment`."""
    chosen = samples[0]
    for sample in samples:
        if sample[0] > moment:
            break
        chosen = sample
    return chosen[1], chosen[2]


def measured_span(runs: list[dict[str, Any]], per_record: int) -> dict[str, float]:
    """Records, readings/s and CPU per million readings of one or several processes, over the span in which
    all of them were reading: from the latest first record to the earliest end of progress."""
    starts, ends = [], []
    for run in runs:
        samples = run["samples"]
        first = next(sample for sample in samples if sample[1] > 0)
        final = samples[-1][1]
        end = next(sample for sample in samples if sample[1] >= final)
        starts.append(first[0])
        ends.append(end[0])
    start, end = max(starts), min(ends)
    if end <= start:
        raise RuntimeError("too little input to time (it was read at once): give more --readings")
    records = cpu = 0.0
    for run in runs:
        records_start, cpu_start = _at(run["samples"], start)
        records_end, cpu_end = _at(run["samples"], end)
        records += records_end - records_start
        cpu += cpu_end - cpu_start
    readings = records * per_record
    return {
        "start": start,
        "end": end,
        "seconds": end - start,
        "records": records,
        "readings_per_second": readings / (end - start),
        "records_per_second": records / (end - start),
        "cpu_seconds": cpu,
        "cpu_seconds_per_million_readings": cpu / readings * 1e6 if readings else float("nan"),
        "cpu_cores_used": cpu / (end - start),
    }


class BrokerCpu:
    """CPU seconds of the local broker's process over time (None when the broker is elsewhere)."""

    def __init__(self, settings: Settings) -> None:
        self.process: Any = None
        if settings.kafka.bootstrap_servers or os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            return
        try:
            import psutil

            from streaming.broker import LocalBroker

            pid = LocalBroker().status().pid
            self.process = psutil.Process(pid) if pid else None
        except Exception:
            self.process = None
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()

    def __enter__(self) -> BrokerCpu:
        if self.process is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self._stop.set()
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            times = self.process.cpu_times()
            self.samples.append((time.monotonic(), times.user + times.system))
            time.sleep(0.05)

    def over(self, start: float, end: float) -> dict[str, float] | None:
        if self.process is None or len(self.samples) < 2:
            return None
        before = max((sample for sample in self.samples if sample[0] <= start), default=self.samples[0])
        after = min((sample for sample in self.samples if sample[0] >= end), default=self.samples[-1])
        seconds = after[1] - before[1]
        return {"broker_cpu_seconds": seconds, "broker_cpu_cores": seconds / max(after[0] - before[0], 1e-9)}


# Jobs ----------------------------------------------------------------------------------------------------


def raw_consume(settings: Settings, bootstrap: str, records: int, decode: bool, queue: Any) -> None:
    """The client's ceiling: kafka-python reading the topic, optionally decoding each record as the
    downsampler's consume loop does (validated msgspec decoding)."""
    from streaming.kafka import TopicPartition
    from streaming.schemas import Codec

    codec = Codec(SensorReadingBatch)
    consumer = make_consumer(settings, bootstrap, group_id=None, role="bench-raw", max_poll_records=2_000)
    topic = settings.topic_name("sensor_readings")
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    seen = [0]
    progress = Progress(lambda: seen[0])
    progress.start()
    deadline = time.monotonic() + 600
    while seen[0] < records and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            if decode:
                for record in batch:
                    codec.decode(record.value)
            seen[0] += len(batch)
    samples = progress.stop()
    consumer.close()
    queue.put({"samples": samples, "peak_rss_mb": _peak_rss_mb()})


def downsample(
    settings: Settings,
    bootstrap: str,
    records: int,
    guarantee: str,
    statistics: list[str],
    group: str,
    instance: str,
    total: Any,
    queue: Any,
) -> None:
    """One downsampler process; with others in the same group, they stop once they read `records` together."""
    from consumers.downsampler.service import build, tune_garbage_collector

    processing = settings.processing.model_copy(update={"processing_guarantee": guarantee})
    windows = settings.windows.model_copy(update={"group_id": group, "aggregations": statistics})
    settings = settings.model_copy(update={"processing": processing, "windows": windows})
    app = build(settings, bootstrap, instance_id=instance)
    tune_garbage_collector()  # as `streaming consume windows` does
    reported = [0]

    def count() -> int:
        records_in = app.summary.records_in
        with total.get_lock():
            total.value += records_in - reported[0]
        reported[0] = records_in
        if total.value >= records:
            app.stop()
        return records_in

    progress = Progress(count)
    progress.start()
    summary = app.run(duration=600)
    samples = progress.stop()
    queue.put(
        {
            "samples": samples,
            "peak_rss_mb": _peak_rss_mb(),
            "transactions": summary.commits,
            "late_events": summary.late_events,
            "dead_letters": summary.dead_letters,
            "windows_out": sum(getattr(processor, "_windows_out", 0) for processor in app.processors),
        }
    )


def in_processes(target: Any, arguments: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Runs `target(*arguments[i], queue)` in one new process each (spawned, not forked, so that each
    starts as a service does, without this process's objects), all at once, and collects their results."""
    context = multiprocessing.get_context("spawn")
    queue: Any = context.Queue()
    processes = [context.Process(target=target, args=(*args, queue)) for args in arguments]
    for process in processes:
        process.start()
    results = [queue.get(timeout=900) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    return results


def quix_python(venv: Path) -> tuple[Path | None, str]:
    """Quix Streams' own virtualenv, made on first use; (None, why) when it cannot be."""
    python = venv / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", "import quixstreams"], capture_output=True, timeout=120)
        if check.returncode == 0:
            return python, ""
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300
        )
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", QUIX_REQUIREMENT],
            capture_output=True,
            text=True,
            timeout=900,
        )
    except (subprocess.SubprocessError, OSError) as error:
        return None, f"cannot make a virtualenv for Quix at {venv}: {error}"
    if installed.returncode != 0:
        return None, f"pip install {QUIX_REQUIREMENT} failed: {installed.stderr.strip()[-300:]}"
    return python, ""


def run_quix(
    python: Path, settings: Settings, bootstrap: str, records: int, guarantee: str
) -> dict[str, Any]:
    group = f"{settings.topics.prefix}quix-{guarantee}"
    command = [
        str(python),
        str(HERE / "quix_windows.py"),
        "--bootstrap", bootstrap,
        "--topic", settings.topic_name("sensor_readings"),
        "--output-topic", f"{settings.topics.prefix}quix-windows",
        "--group", group,
        "--records", str(records),
        "--guarantee", guarantee,
        "--fields", ",".join(SENSOR_FIELDS),
        "--window-seconds", str(settings.windows.window_size_seconds),
        "--grace-seconds", str(settings.windows.allowed_lateness_seconds),
    ]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    lines = [line for line in finished.stdout.splitlines() if line.startswith("{")]
    if finished.returncode != 0 or not lines:
        return {"skipped": f"Quix run failed ({finished.returncode}): {finished.stderr.strip()[-400:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# One scenario ------------------------------------------------------------------------------------------


def run_scenario(
    scenario: Scenario, arguments: argparse.Namespace, readings_wanted: int, jobs: list[str]
) -> dict[str, Any]:
    settings = Settings(
        topics={"prefix": f"bench{uuid.uuid4().hex[:6]}.", "partitions": arguments.partitions},
        windows={"window_size_seconds": 10.0, "allowed_lateness_seconds": 5.0},
    )
    bootstrap = resolve_bootstrap(settings)
    admin = make_admin(settings, bootstrap)
    ensure_topics(admin, settings)
    admin.close()
    per_record = scenario.readings_per_record
    started = time.perf_counter()
    readings = produce_readings(
        settings, bootstrap, arguments.machines, readings_wanted, per_record, scenario.hertz
    )
    produced_seconds = time.perf_counter() - started
    records = readings // per_record
    result: dict[str, Any] = {
        "machines": arguments.machines,
        "reading_hertz": scenario.hertz,
        "readings_per_record": per_record,
        "readings_per_window": int(10 * scenario.hertz),
        "readings": readings,
        "records": records,
        "produce_readings_per_second": readings / produced_seconds,
    }
    broker = BrokerCpu(settings)

    def ours(guarantee: str, statistics: list[str], processes: int) -> dict[str, Any]:
        total = multiprocessing.get_context("spawn").Value("q", 0)
        group = f"downsampler-{uuid.uuid4().hex[:6]}"
        runs = in_processes(
            downsample,
            [
                (settings, bootstrap, records, guarantee, statistics, group, f"bench-{n}", total)
                for n in range(processes)
            ],
        )
        span = measured_span(runs, per_record)
        return {
            **span,
            **(broker.over(span["start"], span["end"]) or {}),
            "processes": processes,
            "statistics": statistics,
            "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
            "transactions": sum(run["transactions"] for run in runs),
            "late_events": sum(run["late_events"] for run in runs),
            "dead_letters": sum(run["dead_letters"] for run in runs),
            "windows_out": sum(run["windows_out"] for run in runs),
        }

    with broker:
        for job in jobs:
            print(f"windows_bench: {scenario.name}: {job}", file=sys.stderr, flush=True)
            if job in ("raw", "raw_decode"):
                (run,) = in_processes(raw_consume, [(settings, bootstrap, records, job == "raw_decode")])
                span = measured_span([run], per_record)
                result[job] = {**span, **(broker.over(span["start"], span["end"]) or {})}
                result[job]["peak_rss_mb"] = run["peak_rss_mb"]
            elif job == "exactly_once":
                result[job] = ours("exactly-once", FULL_STATISTICS, 1)
            elif job == "at_least_once":
                result[job] = ours("at-least-once", FULL_STATISTICS, 1)
            elif job == "exactly_once_quix_statistics":
                result[job] = ours("exactly-once", QUIX_STATISTICS, 1)
            elif job == "two_processes":
                result[job] = ours("exactly-once", FULL_STATISTICS, 2)
            elif job == "quix":
                python, why = quix_python(ROOT / ".bench-venvs" / "quix")
                if python is None:
                    result[job] = {"skipped": why}
                    continue
                began = time.monotonic()
                quix = run_quix(python, settings, bootstrap, records, "exactly-once")
                if "skipped" not in quix:
                    quix["readings_per_second"] = quix["records"] * per_record / quix["seconds"]
                    quix["cpu_seconds_per_million_readings"] = (
                        quix["cpu_seconds"] / (quix["records"] * per_record) * 1e6
                    )
                    quix["statistics"] = QUIX_STATISTICS
                    quix.update(broker.over(began, time.monotonic()) or {})
                result[job] = quix
    _ratios(result)
    _delete_topics(settings, bootstrap)
    return result


def _ratios(result: dict[str, Any]) -> None:
    raw = result.get("raw", {}).get("readings_per_second")
    for name in ("exactly_once", "at_least_once", "exactly_once_quix_statistics"):
        if name in result and raw:
            result[name]["ratio_to_raw_consume"] = result[name]["readings_per_second"] / raw
    quix = result.get("quix", {}).get("readings_per_second")
    if quix and "exactly_once_quix_statistics" in result:
        result["exactly_once_quix_statistics"]["ratio_to_quix"] = (
            result["exactly_once_quix_statistics"]["readings_per_second"] / quix
        )
    if quix and "exactly_once" in result:
        result["exactly_once"]["ratio_to_quix"] = result["exactly_once"]["readings_per_second"] / quix
    if "two_processes" in result and "exactly_once" in result:
        result["two_processes"]["ratio_to_one_process"] = (
            result["two_processes"]["readings_per_second"] / result["exactly_once"]["readings_per_second"]
        )


def _delete_topics(settings: Settings, bootstrap: str) -> None:
    admin = make_admin(settings, bootstrap)
    try:
        # The run's prefix is unique; Quix names its changelog topics after its group, which holds it.
        ours = [name for name in admin.list_topics() if settings.topics.prefix in name]
        if ours:
            admin.delete_topics(sorted(ours))
    except Exception as error:
        print(f"windows_bench: could not delete the benchmark's topics: {error}", file=sys.stderr)
    finally:
        admin.close()


# Window state memory -----------------------------------------------------------------------------------


def state_memory(keys: int, ttl_seconds: float, queue: Any) -> None:
    """Memory held by window state with `keys` live keys, and after they go silent past the TTL."""
    from consumers.downsampler.service import aggregation
    from streaming.app.context import Context
    from streaming.app.record import Record

    settings = Settings(windows={"idle_timeout_seconds": ttl_seconds, "state_ttl_seconds": ttl_seconds})
    sent: list[int] = []
    context = Context(settings, "bench", "bench", lambda *args, **options: sent.append(1))
    clock = {"now": 0.0}
    windows = aggregation(settings)
    windows.clock = lambda: clock["now"]
    windows.partitions_assigned([0])
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
            windows.process(batch, context)
            batch = []
    if batch:
        windows.process(batch, context)
    live = tracemalloc.get_traced_memory()[0] - baseline
    live_entries = windows.store.size()
    clock["now"] = ttl_seconds * 3
    windows.on_timer(clock["now"], context)  # closes idle windows
    windows.on_timer(clock["now"], context)  # forgets silent keys
    windows.store.flush(lambda *args, **options: None)
    after = tracemalloc.get_traced_memory()[0] - baseline
    queue.put(
        {
            "keys": keys,
            "state_entries_live": live_entries,
            "state_bytes_live": live,
            "bytes_per_key": live / keys,
            "state_entries_after_ttl": windows.store.size(),
            "state_bytes_after_ttl": after,
            "windows_emitted_on_idle": len(sent),
        }
    )


# The goals, and README rows ------------------------------------------------------------------------------


def goals(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    default = scenarios.get("default", {})
    ten = scenarios.get("ten_hertz", {})
    once = default.get("exactly_once", {})
    measured = [
        once.get("readings_per_second"),
        once.get("ratio_to_raw_consume"),
        ten.get("exactly_once", {}).get("readings_per_second"),
        default.get("exactly_once_quix_statistics", {}).get("ratio_to_quix"),
        default.get("two_processes", {}).get("ratio_to_one_process"),
        once.get("cpu_seconds_per_million_readings"),
    ]
    thresholds = [350_000, 0.25, 1_000_000, 5.0, 1.7, None]
    rows = []
    for (figure, goal), value, threshold in zip(GOALS, measured, thresholds, strict=True):
        met = None
        if value is not None:
            met = value <= 3.0 if threshold is None else value >= threshold
        rows.append({"figure": figure, "goal": goal, "measured": value, "met": met})
    return rows


def readme_rows(result: dict[str, Any]) -> str:
    """The README Results rows of the downsampler, from this benchmark's JSON."""

    def number(value: float) -> str:
        return f"{value:,.0f}"

    lines = []
    command = "`benchmarks/windows_bench.py`"
    for name, scenario in result["scenarios"].items():
        label = {
            "default": "1 reading/s, 10 per record",
            "one_per_record": "1 reading/s, one per record",
            "ten_hertz": "10 readings/s, 100 per record (100 per window)",
        }.get(name, name)
        raw = scenario.get("raw", {})
        once = scenario.get("exactly_once")
        if once:
            text = (
                f"**{number(once['readings_per_second'])} readings/s**; "
                f"{once['cpu_seconds_per_million_readings']:.2f} CPU-s per million readings; "
                f"peak RSS {once['peak_rss_mb']:.0f} MB"
            )
            if raw:
                text += f"; {once['ratio_to_raw_consume']:.2f} of raw consume"
            if "broker_cpu_cores" in once:
                text += f"; broker {once['broker_cpu_cores']:.2f} cores"
            lines.append(
                f"| downsampler, 1,000 machines, {label}, tumbling 10 s, exactly-once | {text} | {command} |"
            )
        alo = scenario.get("at_least_once")
        if alo:
            lines.append(
                f"| same, at-least-once | {number(alo['readings_per_second'])} readings/s | same run |"
            )
        if raw:
            lines.append(
                "| raw kafka-python consume of the same topic | "
                f"{number(raw['readings_per_second'])} readings/s "
                f"({number(raw['records_per_second'])} records/s) | same run |"
            )
        decode = scenario.get("raw_decode")
        if decode:
            lines.append(
                f"| same, and decoding each record | {number(decode['readings_per_second'])} readings/s "
                "| same run |"
            )
        quix, ours_quix = scenario.get("quix", {}), scenario.get("exactly_once_quix_statistics")
        if "readings_per_second" in quix and ours_quix:
            lines.append(
                f"| Quix Streams 3, same topic, count/mean/min/max, exactly-once | "
                f"{number(quix['readings_per_second'])} readings/s; ours on the same job "
                f"{number(ours_quix['readings_per_second'])} (**{ours_quix['ratio_to_quix']:.1f}x**) "
                "| same run |"
            )
        elif "skipped" in quix:
            lines.append(f"| Quix Streams 3 | skipped: {quix['skipped']} | same run |")
        two = scenario.get("two_processes")
        if two:
            text = f"{number(two['readings_per_second'])} readings/s ({two['ratio_to_one_process']:.2f}x one)"
            if "broker_cpu_cores" in two:
                text += f"; broker {two['broker_cpu_cores']:.2f} cores"
            lines.append(f"| two downsampler processes, one group | {text} | same run |")
    state = result.get("state_memory")
    if state:
        lines.append(
            f"| window state with {number(state['keys'])} live keys | "
            f"{state['bytes_per_key'] / 1024:.1f} KB per key; "
            f"after the TTL: {state['state_entries_after_ttl']} entries | same run |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["full", "small"], default="full")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--jobs", help="comma-separated (default: each scenario's own)")
    parser.add_argument("--readings", type=int, help="readings per scenario (default: by scale)")
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--state-keys", type=int, help="keys for the state memory job (0: skip)")
    parser.add_argument("--rows", type=Path, help="print the README rows of a result file and exit")
    arguments = parser.parse_args()
    if arguments.rows:
        print(readme_rows(json.loads(arguments.rows.read_text())))
        return

    scenarios = {}
    for name in arguments.scenarios.split(","):
        scenario = SCENARIOS[name]
        wanted = arguments.readings or (
            scenario.full_readings if arguments.scale == "full" else scenario.small_readings
        )
        jobs = [job for job in (arguments.jobs or ",".join(scenario.jobs)).split(",") if job in scenario.jobs]
        scenarios[name] = run_scenario(scenario, arguments, wanted, jobs)
    state_keys = arguments.state_keys
    if state_keys is None:
        state_keys = 100_000 if arguments.scale == "full" else 5_000
    result: dict[str, Any] = {
        "benchmark": "windows",
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "scale": arguments.scale,
        "window": "tumbling 10 s, lateness 5 s",
        "scenarios": scenarios,
        "goals": goals(scenarios),
    }
    if state_keys:
        (result["state_memory"],) = in_processes(state_memory, [(state_keys, 60.0)])
    for scenario in scenarios.values():
        for job in scenario.values():
            if isinstance(job, dict):
                for key in ("start", "end"):
                    job.pop(key, None)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
