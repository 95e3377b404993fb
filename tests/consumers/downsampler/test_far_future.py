"""A record stamped decades ahead is a dead letter (`timestamp_out_of_bounds`), not the partition's new
watermark; and `streaming state watermark` repairs a watermark that went wrong anyway (an earlier release),
while the service is stopped."""

from __future__ import annotations

import subprocess
import sys

import msgspec
import pytest

from consumers.downsampler.service import build
from contracts import SENSOR_FIELDS, SensorReadingBatch
from streaming.config import Settings
from streaming.kafka import changelog_topic, read_partition
from streaming.schemas import DeadLetter, WindowAggregate, encode
from streaming.state import ChangelogStore
from tests.services_support import ROOT
from tests.support.kafka import produce, read_all

pytestmark = pytest.mark.kafka

T0 = 1_767_225_600.0
YEAR_2090 = 3_786_912_000.0


def reading(machine: str, second: float) -> tuple[bytes, bytes]:
    batch = SensorReadingBatch(
        machine_id=machine,
        machine_type="L",
        event_time=[second],
        **{name: [v] for name, v in zip(SENSOR_FIELDS, (298.0, 308.0, 1500.0, 40.0, 2.0, 1.0), strict=True)},
    )
    return machine.encode(), encode(batch)


def single_partition(topics: Settings) -> Settings:
    windows = topics.windows.model_copy(update={"window_size_seconds": 10.0, "allowed_lateness_seconds": 0.0})
    return topics.model_copy(update={"windows": windows})


def test_a_far_future_record_is_dead_lettered_and_the_windows_go_on(topics: Settings) -> None:
    settings = single_partition(topics)
    records = [reading("m-1", T0 + second) for second in range(0, 25)]
    records.insert(8, reading("m-1", YEAR_2090))
    produce(settings, settings.topic_name("sensor_readings"), records)
    summary = build(settings).run(idle_exit_seconds=3.0, duration=60)
    assert summary.dead_letters == 1 and summary.late_events == 0
    letters = read_all(settings, settings.topic_name("dead_letters"), expected=1)
    assert msgspec.json.decode(letters[0].value, type=DeadLetter).reason == "timestamp_out_of_bounds"
    windows = read_all(settings, settings.topic_name("sensor_windows"), expected=2)
    starts = sorted(msgspec.json.decode(r.value, type=WindowAggregate).window_start for r in windows)
    assert starts == [T0, T0 + 10]


def test_the_watermark_command_sets_a_partition_s_latest_event_time(topics: Settings) -> None:
    settings = single_partition(topics)
    produce(settings, settings.topic_name("sensor_readings"), [reading("m-1", T0 + 1)])
    build(settings).run(idle_exit_seconds=2.0, duration=60)
    partition = read_all(settings, settings.topic_name("sensor_readings"), expected=1)[0].partition
    bootstrap = settings.kafka.bootstrap_servers or ""
    command = [
        sys.executable, "-m", "streaming.cli.main", "state", "watermark", "--service", "downsampler",
        "--partition", str(partition), "--to", str(T0 + 500), "--bootstrap", bootstrap,
        "--topic-prefix", settings.topics.prefix,
    ]  # fmt: skip
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    store = ChangelogStore("windows")
    topic = changelog_topic(settings, settings.windows.group_id, "windows")
    store.restore(
        partition, read_partition(settings, settings.kafka.bootstrap_servers or "", topic, partition)
    )
    assert store.get_meta(partition, "partition") == {"max_event_time": T0 + 500}
