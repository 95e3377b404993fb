"""The simulators on their own (no broker): determinism, degradation before failures, fraud shares."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import orjson
import pytest

from contracts import SensorReadingBatch, Transaction
from producers.faults import FaultInjector
from producers.fleet import FAILURE_MODES, MachineFleet
from producers.malformed import VARIANTS, MalformedRecords
from producers.pacing import TokenBucket
from producers.payments import FRAUD_PATTERNS, PaymentWorld
from producers.settings import ProducerSettings
from streaming.pacing import EventTimePacer
from streaming.schemas import Codec, EventDecodeError

START = 1_700_000_000.0


def _run_fleet(fleet: MachineFleet, blocks: int) -> tuple[list[dict], list[dict]]:
    readings: list[dict] = []
    labels: list[dict] = []
    for _ in range(blocks):
        for record in fleet.generate(None):
            (readings if record.topic == "sensor_readings" else labels).append(orjson.loads(record.value))
    return readings, labels


def test_same_seed_same_events_and_another_seed_differs() -> None:
    def values(seed: int) -> list[bytes]:
        fleet = MachineFleet(machines=20, seed=seed, start_time=START, failure_rate_per_machine_day=50)
        return [record.value for _ in range(50) for record in fleet.generate(None)]

    assert values(5) == values(5)
    assert values(5) != values(6)

    def payments(seed: int) -> list[bytes]:
        world = PaymentWorld(cards=200, merchants=50, seed=seed, start_time=START, fraud_rate=0.05)
        return [record.value for _ in range(10) for record in world.generate(None)]

    assert payments(5) == payments(5)
    assert payments(5) != payments(6)


def test_every_reading_is_a_valid_sensor_batch_keyed_by_machine() -> None:
    fleet = MachineFleet(machines=30, seed=1, start_time=START, readings_per_record=10)
    codec = Codec(SensorReadingBatch)
    for record in fleet.generate(None):
        batch = codec.decode(record.value)
        assert record.key == batch.machine_id.encode()
        assert record.timestamp_ms == int(batch.event_time[0] * 1000)
        assert batch.count == 10
        assert list(batch.event_time) == sorted(batch.event_time)


def test_failures_are_preceded_by_a_measurable_degradation() -> None:
    """Each non-random failure mode has a signature that moves, failure after failure, between an hour
    before the failure (before its degradation phase, at most 1.4 x 30 min, began) and its last 5 minutes."""
    fleet = MachineFleet(
        machines=40,
        seed=11,
        start_time=START,
        reading_interval_seconds=5.0,
        failure_rate_per_machine_day=6.0,
        degradation_seconds=1_800.0,
        repair_seconds=600.0,
    )
    readings, labels = _run_fleet(fleet, blocks=2_000)  # 2000 x 50 s = 28 event hours
    columns = (
        "event_time",
        "vibration_mm_s",
        "torque_nm",
        "rotational_speed_rpm",
        "air_temperature_k",
        "process_temperature_k",
        "tool_wear_min",
    )
    parts: dict[str, list[dict]] = {}
    for batch in readings:
        parts.setdefault(batch["machine_id"], []).append(batch)
    series = {
        machine: {name: np.concatenate([np.asarray(batch[name]) for batch in batches]) for name in columns}
        for machine, batches in parts.items()
    }
    assert {label["failure_mode"] for label in labels} == set(FAILURE_MODES)
    # mode -> (signal, sign, minimum median change)
    signatures = {
        "tool_wear": ("vibration_mm_s", 1, 1.0),
        "heat_dissipation": ("temperature_delta", -1, 1.5),
        "power": ("torque_nm", 1, 10.0),
        "overstrain": ("vibration_mm_s", 1, 2.0),
    }
    changes: dict[str, list[float]] = {mode: [] for mode in signatures}
    for label in labels:
        mode = label["failure_mode"]
        if mode == "random":
            continue
        data = series[label["entity_id"]]
        times, failed = data["event_time"], label["event_time"]
        before = (times >= failed - 300) & (times < failed)
        baseline = (times >= failed - 3_600 - 600) & (times < failed - 3_600)
        if before.sum() < 20 or baseline.sum() < 20:
            continue  # failed right after the start or right after a previous repair
        name, sign, _minimum = signatures[mode]
        values = (
            data["process_temperature_k"] - data["air_temperature_k"]
            if name == "temperature_delta"
            else data[name]
        )
        changes[mode].append(sign * (values[before].mean() - values[baseline].mean()))
        if mode == "tool_wear":
            assert data["tool_wear_min"][before].max() >= 195.0
    for mode, (_name, _sign, minimum) in signatures.items():
        assert len(changes[mode]) >= 5, mode
        assert np.median(changes[mode]) > minimum, (mode, changes[mode])
        assert np.mean(np.asarray(changes[mode]) > 0) >= 0.9, (mode, changes[mode])


def test_failure_labels_are_rare_and_repairs_reset_the_machine() -> None:
    fleet = MachineFleet(machines=50, seed=2, start_time=START, failure_rate_per_machine_day=0.5)
    readings, labels = _run_fleet(fleet, blocks=1_000)  # about 2.8 event hours
    events = sum(len(batch["event_time"]) for batch in readings)
    assert 0 < len(labels) < events * 1e-3  # imbalanced: well under one failure per thousand readings
    fleet = MachineFleet(
        machines=10, seed=3, start_time=START, failure_rate_per_machine_day=200.0, repair_seconds=100.0
    )
    readings, labels = _run_fleet(fleet, blocks=300)
    label = next(item for item in labels if item["failure_mode"] != "random")
    after = [
        batch
        for batch in readings
        if batch["machine_id"] == label["entity_id"] and batch["event_time"][0] >= label["event_time"] + 100.0
    ]
    assert after and after[0]["tool_wear_min"][0] < 5.0  # tool replaced by the repair
    down = [
        t
        for batch in readings
        if batch["machine_id"] == label["entity_id"]
        for t in batch["event_time"]
        if label["event_time"] <= t < label["event_time"] + 100.0
    ]
    assert down == []  # a machine under repair sends nothing


def test_fraud_rate_and_label_delay_within_tolerance() -> None:
    assert ProducerSettings().fraud_rate < 0.01
    world = PaymentWorld(
        cards=3_000,
        merchants=300,
        seed=4,
        start_time=START,
        fraud_rate=0.01,
        chargeback_delay_seconds=3_600.0,
        chargeback_delay_jitter=0.5,
    )
    transactions: dict[str, dict] = {}
    labels: list[dict] = []
    while len(transactions) < 150_000:
        for record in world.generate(None):
            document = orjson.loads(record.value)
            if record.topic == "transactions":
                transactions[document["transaction_id"]] = document
            else:
                labels.append(document)
    labels.extend(orjson.loads(record.value) for record in world.finish())
    churns = [label for label in labels if label["kind"] == "customer_churned"]
    labels = [label for label in labels if label["kind"] == "chargeback"]
    assert all(label["transaction_id"] is None for label in churns)
    # Refunds (customers' returns, days after a purchase) are not payments the fraud rate counts.
    share = world.fraud_transactions / (len(transactions) - world.refund_transactions)
    assert share == pytest.approx(0.01, rel=0.2)
    assert len(labels) == world.fraud_transactions
    delays = np.array([label["reported_time"] - label["event_time"] for label in labels])
    assert delays.min() >= 1_800.0 - 1e-3 and delays.max() <= 5_400.0 + 1e-3
    assert delays.mean() == pytest.approx(3_600.0, rel=0.05)
    assert {label["fraud_pattern"] for label in labels} == set(FRAUD_PATTERNS)
    for label in labels:
        assert transactions[label["transaction_id"]]["card_id"] == label["entity_id"]


def test_fraud_patterns_look_like_their_names() -> None:
    world = PaymentWorld(cards=2_000, merchants=200, seed=9, start_time=START, fraud_rate=0.05)
    transactions: dict[str, dict] = {}
    labels: list[dict] = []
    for _ in range(100):
        for record in world.generate(None):
            document = orjson.loads(record.value)
            (
                labels.append(document)
                if record.topic == "labels"
                else transactions.__setitem__(document["transaction_id"], document)
            )
    labels.extend(orjson.loads(record.value) for record in world.finish())
    labels = [label for label in labels if label["transaction_id"] in transactions]
    by_pattern: dict[str, list[dict]] = {}
    for label in labels:
        by_pattern.setdefault(label["fraud_pattern"], []).append(transactions[label["transaction_id"]])
    assert all(tx["amount"] <= 3.0 for tx in by_pattern["card_testing"])
    homes = {world.card_ids[i]: world.devices[i] for i in range(len(world.card_ids))}
    assert all(tx["device_id"] != homes[tx["card_id"]] for tx in by_pattern["account_takeover"])
    assert all(
        tx["merchant_category"] in {"jewelry", "luxury", "crypto_exchange"}
        for tx in by_pattern["unusual_large"]
    )
    for tx in by_pattern["impossible_travel"]:
        index = world.card_ids.index(tx["card_id"])
        distance = _kilometres(
            tx["latitude"], tx["longitude"], world.home_latitude[index], world.home_longitude[index]
        )
        assert distance > 3_000.0


def _kilometres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6_371.0 * 2 * math.asin(math.sqrt(a))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_malformed_variant_is_rejected_by_the_codec(variant: str) -> None:
    world = PaymentWorld(cards=10, merchants=10, seed=1, start_time=START, fraud_rate=0.0)
    good = world.generate(1)[0].value
    malformed = MalformedRecords(PaymentWorld.numeric_fields, PaymentWorld.required_fields, 1_048_576, seed=3)
    codec = Codec(Transaction, max_bytes=1_048_576)
    codec.decode(good)
    with pytest.raises(EventDecodeError):
        codec.decode(malformed.make(good, variant))


def test_fault_injector_fractions_and_holding() -> None:
    injector = FaultInjector(seed=1, out_of_order_fraction=0.1, late_fraction=0.1, duplicate_fraction=0.1)
    world = PaymentWorld(cards=100, merchants=20, seed=1, start_time=START, fraud_rate=0.0)
    sent = []
    for record in [record for _ in range(40) for record in world.generate(None)]:
        sent.extend(injector.process(record, now=record.due_time))
    sent.extend(injector.drain())
    originals = [record for record in sent if record.kind == "event"]
    assert len(originals) == 40 * 256
    assert injector.counts["duplicate"] == pytest.approx(1024, rel=0.15)
    assert injector.counts["late"] == pytest.approx(1024, rel=0.15)
    times = [record.timestamp_ms for record in originals]
    assert times != sorted(times)  # out of order on the wire


def _fake_clock() -> tuple[list[float], dict[str, object]]:
    now = [0.0]
    return now, {"clock": lambda: now[0], "sleep": lambda seconds: now.__setitem__(0, now[0] + seconds)}


def test_token_bucket_paces_to_the_rate() -> None:
    now, clock = _fake_clock()
    bucket = TokenBucket(rate=1_000.0, **clock)  # type: ignore[arg-type]
    for _ in range(300):
        bucket.acquire(10)
    assert now[0] == pytest.approx(2.99, abs=1e-6)  # the last record goes at its scheduled start
    assert bucket.schedule_end - (bucket.started or 0.0) == pytest.approx(3.0, abs=1e-6)


def test_token_bucket_makes_up_a_short_stall_and_forgets_a_long_one() -> None:
    now, clock = _fake_clock()
    bucket = TokenBucket(rate=1_000.0, max_backlog_seconds=1.0, **clock)  # type: ignore[arg-type]
    for _ in range(100):
        bucket.acquire(10)
    now[0] += 0.5  # a stall: the next 500 events go without waiting
    waits = [bucket.acquire(10) for _ in range(50)]
    assert waits == [0.0] * 50 and now[0] == pytest.approx(1.49)
    assert bucket.acquire(10) > 0
    now[0] += 5.0  # far behind: the backlog is dropped, pacing restarts from now
    started = now[0]
    for _ in range(101):
        bucket.acquire(10)
    assert now[0] - started == pytest.approx(1.0, abs=1e-6)


def test_pacers_wait_on_the_stop_event_and_wake_when_it_is_set() -> None:
    stop = threading.Event()
    pacer = EventTimePacer(1.0, origin=0.0, stop_event=stop)
    bucket = TokenBucket(rate=0.1, stop_event=stop)
    bucket.acquire(1)
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    pacer.wait_until(600.0)  # ten wall minutes, unless stopped
    bucket.acquire(1)  # ten wall seconds, unless stopped
    assert stop.is_set() and time.monotonic() - started < 5.0
