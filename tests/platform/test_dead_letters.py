"""Every kind of bad message lands in the dead-letter topic with its reason; good ones around it flow."""

from __future__ import annotations

import math

import msgspec
import pytest

from consumers.downsampler.service import build
from contracts import SENSOR_FIELDS, SensorReadingBatch
from streaming.config import Settings
from streaming.schemas import DeadLetter, WindowAggregate, encode
from tests.support.kafka import produce, read_all

pytestmark = pytest.mark.kafka

T0 = 1_767_225_600.0


def good_record(machine: str, second: float) -> bytes:
    return encode(
        SensorReadingBatch(
            machine_id=machine,
            machine_type="M",
            event_time=[T0 + second],
            **{
                name: [value]
                for name, value in zip(SENSOR_FIELDS, (298.0, 308.0, 1500.0, 40.0, 2.0, 5.0), strict=True)
            },
        )
    )


def bad_records() -> dict[str, bytes]:
    valid = msgspec.json.decode(good_record("m-bad", 0))

    def variant(**changes: object) -> bytes:
        return msgspec.json.encode({**valid, **changes})

    missing = dict(valid)
    missing.pop("torque_nm")
    return {
        "truncated": good_record("m-bad", 0)[:37],
        "wrong_type": variant(torque_nm=["forty"]),
        "missing_field": msgspec.json.encode(missing),
        "nan": good_record("m-bad", 0).replace(b"[40.0]", b"[NaN]"),
        "infinity": good_record("m-bad", 0).replace(b"[40.0]", b"[1e999]"),
        "out_of_range": variant(air_temperature_k=[9000.0]),
        "unknown_version": variant(schema_version=99),
        "oversize": variant(machine_id="m-" + "x" * 100, padding="y" * 1_200_000),
        "not_json": b"\x00\x01\x02 binary garbage",
        "empty": b"",
    }


EXPECTED_REASON = {
    "truncated": "decode_error",
    "wrong_type": "validation_error",
    "missing_field": "validation_error",
    "nan": "decode_error",
    "infinity": "validation_error",
    "out_of_range": "validation_error",
    "unknown_version": "unknown_version",
    "oversize": "oversize",
    "not_json": "decode_error",
    "empty": "decode_error",
}


def test_bad_records_are_dead_lettered_and_good_ones_flow(topics: Settings) -> None:
    windows = topics.windows.model_copy(
        update={"allowed_lateness_seconds": 0.0, "idle_timeout_seconds": 3600.0, "state_ttl_seconds": 7200.0}
    )
    settings = topics.model_copy(update={"windows": windows})
    bad = bad_records()
    records: list[tuple[bytes, bytes]] = []
    # Every record goes to one key, so one partition, interleaving good and bad in one ordered stream.
    for index, (name, value) in enumerate(bad.items()):
        records.append((b"m-1", good_record("m-1", index * 10.0)))
        records.append((b"m-1", value))
        del name
    records.append((b"m-1", good_record("m-1", 1000.0)))  # advances the watermark past every window
    produce(settings, settings.topic_name("sensor_readings"), records, max_request_size=4 * 1024 * 1024)

    summary = build(settings).run(idle_exit_seconds=3.0, duration=60)

    assert summary.dead_letters == len(bad)
    letters = [
        msgspec.json.decode(r.value, type=DeadLetter)
        for r in read_all(settings, settings.topic_name("dead_letters"), expected=len(bad))
    ]
    assert len(letters) == len(bad)
    by_offset = {letter.offset: letter for letter in letters}
    for index, (name, value) in enumerate(bad.items()):
        letter = by_offset[index * 2 + 1]
        assert letter.reason == EXPECTED_REASON[name], (name, letter.error_message)
        assert letter.source_topic == settings.topic_name("sensor_readings")
        assert letter.original_key == b"m-1"
        assert letter.error_message and letter.error_class
        assert letter.failed_at > 0
        if name == "oversize":
            assert letter.original_value_truncated and letter.original_size_bytes == len(value)
        else:
            assert letter.original_value == value
    outputs = [
        msgspec.json.decode(r.value, type=WindowAggregate)
        for r in read_all(settings, settings.topic_name("sensor_windows"), expected=len(bad))
    ]
    assert sorted(w.window_start - T0 for w in outputs) == [index * 10.0 for index in range(len(bad))]
    assert all(w.count == 1 and not math.isnan(w.aggregates["torque_nm"]["mean"]) for w in outputs)
