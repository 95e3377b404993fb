"""Exactly-once through broker crashes: the broker is killed with SIGKILL at random points while the
downsampler runs transactions, ten times, and started again. The committed output must still be exactly the
uninterrupted run's: no window lost, none emitted twice, no reading both inside a window and late.

The broker here is one of the test's own (killing the session's would break every other test)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from streaming.broker import LocalBroker
from streaming.config import Settings
from streaming.kafka import ensure_topics, make_admin
from streaming.schemas import WindowAggregate
from tests.streaming.app.test_crash_and_rebalance import (
    WINDOW_ENV,
    assert_exactly_reference,
    downsampler_arguments,
    prepare,
    windows_output,
)
from tests.support.brokers import killable_broker
from tests.support.kafka import read_all
from tests.support.processes import committed_total, condensed_log, start_cli, stop, wait_for_commits
from tests.support.sensors import reference_windows

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

KILLS = 10


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    broker = killable_broker(tmp_path / "broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


def duplicate_report(settings: Settings) -> str:
    """Where each window emitted twice sits in the output topic, to tell a transaction that committed twice
    from aborted records handed to a read_committed reader."""
    seen: dict[tuple[str, float], list[str]] = {}
    for record in read_all(settings, settings.topic_name("sensor_windows"), idle_seconds=3.0):
        window = msgspec.json.decode(record.value, type=WindowAggregate)
        seen.setdefault((window.key, window.window_start), []).append(f"p{record.partition}@{record.offset}")
    twice = {key: places for key, places in seen.items() if len(places) > 1}
    lines = [f"{key[0]} {key[1]}: {' '.join(places)}" for key, places in sorted(twice.items())[:40]]
    return "duplicates (window: partition@offset):\n" + "\n".join(lines)


@pytest.mark.timeout(900)
def test_broker_kill_minus_nine_during_transactions_loses_and_duplicates_nothing(
    broker: LocalBroker, tmp_path: Path
) -> None:
    settings = Settings(
        kafka={"bootstrap_servers": broker.bootstrap},
        topics={"prefix": "faults."},
        processing={"state_dir": str(tmp_path / "state")},
    )
    admin = make_admin(settings, broker.bootstrap)
    try:
        ensure_topics(admin, settings)
    finally:
        admin.close()
    total, expected = prepare(settings, machines=40, seconds=600)
    group = f"{settings.topics.prefix}downsampler"
    source = settings.topic_name("sensor_readings")
    late_topic = settings.topic_name("late_events")
    log = tmp_path / "downsampler.log"
    # Tiny polls: hundreds of transactions, so every kill lands inside or between some of them.
    environment = {
        **WINDOW_ENV,
        "STREAMING_PROCESSING__MAX_POLL_RECORDS": "5",
        # Recover quickly from a client that hangs on after the broker came back.
        "STREAMING_PROCESSING__COMMIT_TIMEOUT_SECONDS": "10",
    }
    process = start_cli(
        downsampler_arguments(settings, "faults", idle_exit=600.0, duration=600.0), log, environment
    )
    chooser = random.Random(20261201)
    kill_points = sorted(chooser.sample(range(total // 20, total * 9 // 10), KILLS))
    try:
        for point in kill_points:
            wait_for_commits(settings, group, source, point, timeout_seconds=180)
            broker.kill()
            assert process.poll() is None, "the downsampler died with the broker:\n" + log.read_text()[-4000:]
            broker.start()
        wait_for_commits(settings, group, source, total, timeout_seconds=240)
    except TimeoutError as error:
        tail = condensed_log(log, 8000)
        raise AssertionError(f"{error}; the downsampler's log ends:\n{tail}") from error
    finally:
        code = stop(process)
    text = log.read_text(errors="replace")
    assert code == 0, text[-4000:]
    assert committed_total(settings, group, source) == total

    try:
        assert_exactly_reference(windows_output(settings, len(expected)), expected)
    except AssertionError as error:
        report = duplicate_report(settings)
        raise AssertionError(f"{error}\n{report}\nthe downsampler's log ends:\n{text[-6000:]}") from error
    consumed = read_all(settings, source, expected=total)
    reference_late: set[tuple[int, int]] = set()
    reference_windows(
        [(r.partition, r.offset, r.value) for r in consumed],
        size=10.0,
        step=10.0,
        allowed_lateness=5.0,
        late_records=reference_late,
    )
    late = [
        (int(headers["source-partition"]), int(headers["source-offset"]))
        for headers in (dict(record.headers) for record in read_all(settings, late_topic, idle_seconds=3.0))
    ]
    assert reference_late, "the input has late readings"
    assert len(late) == len(set(late)), f"{len(late) - len(set(late))} late records sent twice"
    assert set(late) == reference_late, "readings both inside windows and late, or late ones lost"
