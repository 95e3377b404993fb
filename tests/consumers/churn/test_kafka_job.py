"""The weekly job against the real broker: the week extracted from the transactions topic by event time,
outputs published in one transaction, a worker split by partitions, a failed publish, and the metrics
pushed to a real Pushgateway."""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import pandas as pd
import pytest

from consumers.churn.job import ChurnJob, FrameSource
from consumers.churn.publish import KafkaSinks, PublishFailed, is_published
from consumers.churn.schedule import WeeklySchedule
from consumers.churn.service import run_week
from consumers.churn.summaries import transactions_frame
from consumers.churn.weeks import IsoWeek
from contracts import Alert, ChurnScore, CustomerProfile, Transaction
from producers.customers import CustomerLifecycleSettings
from producers.payments import PaymentWorld
from streaming.config import Settings
from streaming.demo.pushgateway import PushgatewayServer
from streaming.kafka import edge_timestamps
from tests.consumers.churn.support import START_WEEK
from tests.consumers.churn.test_job import DATA_FILES, SETTINGS
from tests.support.kafka import produce_stamped, read_all

pytestmark = pytest.mark.kafka

WEEKS = 12
LAST = START_WEEK + (WEEKS - 1)


def _simulated_records(weeks: int) -> list[tuple[bytes, bytes, int]]:
    world = PaymentWorld(
        cards=400,
        merchants=120,
        seed=5,
        start_time=float(START_WEEK.start_seconds),
        fraud_rate=0.0,
        transactions_per_card_day=1.0,
        lifecycle=CustomerLifecycleSettings(weekly_churn_hazard=0.03),
    )
    end = (START_WEEK + weeks).start_seconds
    records: list[tuple[bytes, bytes, int]] = []
    while world.now < end:
        records.extend(
            (record.key, record.value, record.timestamp_ms)
            for record in world.generate(None)
            if record.topic == "transactions" and record.timestamp_ms < end * 1000
        )
    return records


def _settings(settings: Settings, root: Path) -> Settings:
    return settings.with_section("churn", SETTINGS.model_copy(update={"output_dir": str(root)}))


@pytest.fixture
def produced(topics: Settings) -> tuple[Settings, pd.DataFrame]:
    records = _simulated_records(WEEKS)
    produce_stamped(topics, topics.topic_name("transactions"), records)
    decoder = msgspec.json.Decoder(Transaction)
    frame = transactions_frame(decoder.decode(value) for _key, value, _timestamp in records)
    return topics, frame


def _week(frame: pd.DataFrame, week: IsoWeek) -> pd.DataFrame:
    return frame[(frame["event_time"] >= week.start_seconds) & (frame["event_time"] < week.end_seconds)]


def test_the_job_on_kafka_equals_the_job_on_the_same_frames_and_publishes_each_week_once(
    produced: tuple[Settings, pd.DataFrame], tmp_path: Path
) -> None:
    settings, frame = produced
    kafka_root, frame_root = tmp_path / "kafka", tmp_path / "frames"
    kafka_settings = _settings(settings, kafka_root)
    bootstrap = settings.kafka.bootstrap_servers or ""
    job = ChurnJob(SETTINGS, kafka_root)
    reference = ChurnJob(SETTINGS, frame_root)
    scored = alerted = 0
    for offset in range(WEEKS):
        week = START_WEEK + offset
        run = run_week(kafka_settings, bootstrap, week, job=job)
        expected = reference.run(week, FrameSource(_week(frame, week), chunk_rows=5_000))
        assert run.result is not None and run.result.counts == expected.counts
        assert run.skipped_records == {}
        assert is_published(kafka_root, week)
        scored += run.result.customers_scored
        alerted += run.result.alerts
        for name in DATA_FILES:
            produced_file = kafka_root / "weeks" / str(week) / name
            if produced_file.exists() or (frame_root / "weeks" / str(week) / name).exists():
                assert produced_file.read_bytes() == (frame_root / "weeks" / str(week) / name).read_bytes(), (
                    name
                )
    assert scored > 0 and alerted > 0, "the simulated weeks train a model, score and alert"

    scores = read_all(settings, settings.topic_name("churn_scores"), expected=scored)
    decoded = [msgspec.json.decode(record.value, type=ChurnScore) for record in scores]
    assert len(decoded) == scored
    assert len({(score.customer_id, score.week) for score in decoded}) == scored
    assert all(
        record.key == score.customer_id.encode() for record, score in zip(scores, decoded, strict=True)
    )
    alerts = [
        msgspec.json.decode(record.value, type=Alert)
        for record in read_all(settings, settings.topic_name("alerts"), expected=alerted)
    ]
    assert {alert.kind for alert in alerts} == {"churn"} and len({a.alert_id for a in alerts}) == alerted
    profiles = read_all(settings, settings.topic_name("customer_profiles"), idle_seconds=2.0)
    latest = {record.key: msgspec.json.decode(record.value, type=CustomerProfile) for record in profiles}
    assert max(profile.week for profile in latest.values()) == str(LAST)

    # A partition-parallel run of the last week (two workers, then the merge) gives the same files.
    split_root = tmp_path / "split"
    shutil.copytree(kafka_root, split_root)
    shutil.rmtree(split_root / "weeks" / str(LAST))
    shutil.rmtree(split_root / "archive" / f"week={LAST}")
    split_settings = _settings(settings, split_root)
    for partitions in ([0, 1], [2, 3]):
        worker = run_week(split_settings, bootstrap, LAST, partitions=partitions, publish=False)
        assert worker.partial_only
    run_week(split_settings, bootstrap, LAST, merge=True, publish=False)
    for name in DATA_FILES:
        whole = kafka_root / "weeks" / str(LAST) / name
        if whole.exists():
            assert (split_root / "weeks" / str(LAST) / name).read_bytes() == whole.read_bytes(), name


class _CrashingSinks(KafkaSinks):
    """Dies after the profiles went out, as a killed process would: the transaction never commits."""

    def _send_all(self, producer, logical_topic, events):  # type: ignore[no-untyped-def]
        if logical_topic == "churn_scores":
            raise PublishFailed("killed")
        super()._send_all(producer, logical_topic, events)


def test_a_publish_that_dies_midway_shows_nothing_and_the_rerun_publishes_once(
    produced: tuple[Settings, pd.DataFrame], tmp_path: Path
) -> None:
    settings, _frame = produced
    root = tmp_path / "job"
    job_settings = _settings(settings, root)
    bootstrap = settings.kafka.bootstrap_servers or ""
    week = START_WEEK
    job = ChurnJob(SETTINGS, root)
    with pytest.raises(PublishFailed):
        job.run(week, _source(job_settings, bootstrap, week), _CrashingSinks(job_settings, bootstrap, root))
    assert not is_published(root, week)
    schedule = WeeklySchedule(
        lambda: edge_timestamps(settings, bootstrap, settings.topic_name("transactions")),
        done=lambda candidate: is_published(root, candidate),
        allowed_lateness_seconds=SETTINGS.allowed_lateness_seconds,
    )
    assert schedule.due()[0] == week, "an unpublished week is due again"
    run = run_week(job_settings, bootstrap, week, job=job)
    assert run.result is not None
    profiles = read_all(settings, settings.topic_name("customer_profiles"), idle_seconds=2.0)
    assert len(profiles) == run.result.customers_profiled, "the dead run's profiles stayed invisible"


def _source(settings: Settings, bootstrap: str, week: IsoWeek):  # type: ignore[no-untyped-def]
    from consumers.churn.source import TopicWeekSource

    return TopicWeekSource(settings, bootstrap, week, SETTINGS.allowed_lateness_seconds)


def test_the_run_pushes_its_metrics_to_the_pushgateway(
    produced: tuple[Settings, pd.DataFrame], tmp_path: Path
) -> None:
    settings, _frame = produced
    with PushgatewayServer(data_dir=tmp_path / "pushgateway") as gateway:
        metrics = settings.metrics.model_copy(update={"pushgateway": gateway.address})
        job_settings = _settings(settings.model_copy(update={"metrics": metrics}), tmp_path / "job")
        run = run_week(job_settings, settings.kafka.bootstrap_servers or "", START_WEEK, publish=False)
        exposed = gateway.metrics_text()
    assert run.notes == []
    assert run.result is not None
    profiled = [
        line for line in exposed.splitlines() if line.startswith("streaming_churn_customers_profiled{")
    ]
    assert profiled and 'job="churn"' in profiled[0]
    assert float(profiled[0].rsplit(" ", 1)[1]) == run.result.customers_profiled
    steps = [
        line for line in exposed.splitlines() if line.startswith("streaming_churn_step_duration_seconds{")
    ]
    assert any('step="transform"' in line for line in steps)
