"""`streaming replay FILE`: order, pace, schema mapping and bad rows, against the real broker."""

from __future__ import annotations

from pathlib import Path

import msgspec
import orjson
import pandas as pd
import pytest

from contracts import Transaction
from producers.payments import PaymentWorld
from streaming.config import Settings
from streaming.replay.player import FileReplayer
from streaming.schemas import Codec, DeadLetter
from tests.support.kafka import read_all

pytestmark = pytest.mark.kafka
START = 1_700_000_000.0


def _transactions(count: int) -> list[dict]:
    world = PaymentWorld(cards=40, merchants=30, seed=2, start_time=START, fraud_rate=0.0)
    return [orjson.loads(record.value) for record in world.generate(count)]


def test_csv_replay_maps_onto_the_schema_and_keeps_per_key_order(topics: Settings, tmp_path: Path) -> None:
    rows = _transactions(250)
    frame = pd.DataFrame(rows).rename(columns={"amount": "amount_eur"})
    frame["event_time"] = pd.to_datetime(frame["event_time"], unit="s", utc=True).dt.strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ"
    )  # ISO-8601 text in the file
    path = tmp_path / "payments.csv"
    frame.to_csv(path, index=False)
    topic = topics.topic_name("transactions")
    summary = FileReplayer(
        topics,
        path,
        topic,
        schema="transaction",
        time_column="event_time",
        mapping={"amount_eur": "amount"},
        chunk_size=64,
        progress=False,
    ).run()
    assert summary.records == 250 and summary.bad_row_count == 0 and summary.error_count == 0
    records = read_all(topics, topic, expected=250)
    codec = Codec(Transaction)
    by_card: dict[bytes, list[str]] = {}
    for record in sorted(records, key=lambda item: (item.partition, item.offset)):
        transaction = codec.decode(record.value)
        assert record.key == transaction.card_id.encode()
        assert record.timestamp == round(transaction.event_time * 1000)
        by_card.setdefault(record.key, []).append(transaction.transaction_id)
    expected: dict[bytes, list[str]] = {}
    for row in rows:
        expected.setdefault(row["card_id"].encode(), []).append(row["transaction_id"])
    assert by_card == expected
    original = {row["transaction_id"]: row["amount"] for row in rows}
    assert all(
        codec.decode(record.value).amount == original[codec.decode(record.value).transaction_id]
        for record in records
    )


@pytest.mark.parametrize("speed", [1.0, 4.0])
def test_replay_keeps_the_recorded_pace(topics: Settings, tmp_path: Path, speed: float) -> None:
    """21 rows spread over 2 s of event time take 2 s at speed 1 and 0.5 s at speed 4 (20 % tolerance)."""
    path = tmp_path / "paced.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps({"id": index, "sensor": f"s-{index % 3}", "t": START + index * 0.1}) + b"\n"
            for index in range(21)
        )
    )
    topic = topics.topic_name("sensor_readings")
    summary = FileReplayer(
        topics, path, topic, time_column="t", key_column="sensor", speed=speed, progress=False
    ).run()
    assert summary.records == 21
    assert summary.send_span_seconds == pytest.approx(2.0 / speed, rel=0.2)
    records = read_all(topics, topic, expected=21)
    assert sorted(record.timestamp for record in records) == [
        round((START + i * 0.1) * 1000) for i in range(21)
    ]


def test_bad_rows_are_counted_reported_and_dead_lettered(topics: Settings, tmp_path: Path) -> None:
    rows = _transactions(20)
    frame = pd.DataFrame(rows)
    frame.loc[3, "amount"] = float("nan")  # NaN in a required field
    frame["event_time"] = frame["event_time"].astype(object)
    frame.loc[5, "event_time"] = "not a time"  # unparsable timestamp
    frame.loc[8, "amount"] = -5.0  # out of range
    frame.loc[11, "card_id"] = None  # missing key field
    path = tmp_path / "payments.csv"
    frame.to_csv(path, index=False)
    topic = topics.topic_name("transactions")
    summary = FileReplayer(topics, path, topic, schema="transaction", dead_letter=True, progress=False).run()
    assert summary.records == 16
    assert summary.bad_rows == {"missing_field": 2, "unparsable_time": 1, "invalid_value": 1}
    assert summary.dead_lettered == 4 and len(summary.bad_row_examples) == 4
    letters = [
        msgspec.json.decode(record.value, type=DeadLetter)
        for record in read_all(topics, topics.topic_name("dead_letters"), expected=4)
    ]
    assert sorted(letter.offset for letter in letters) == [3, 5, 8, 11]
    assert {letter.reason for letter in letters} == {"validation_error"}
    assert all(letter.source_topic == "file:payments.csv" and letter.original_value for letter in letters)


def test_a_missing_column_makes_every_row_bad_not_silently_dropped(topics: Settings, tmp_path: Path) -> None:
    path = tmp_path / "partial.parquet"
    pd.DataFrame(_transactions(10)).drop(columns=["merchant_id"]).to_parquet(path)
    summary = FileReplayer(
        topics, path, topics.topic_name("transactions"), schema="transaction", progress=False
    ).run()
    assert summary.records == 0 and summary.rows == 10
    assert summary.bad_rows == {"missing_field": 10}
    assert "merchant_id" in summary.bad_row_examples[0]
