"""The codec classifies every bad record for the dead-letter topic; none raises anything else."""

from __future__ import annotations

import pytest

from contracts import Label, Transaction
from streaming.schemas import Codec, EventDecodeError


@pytest.mark.parametrize(
    "data",
    [b'{"a":' * 10_000 + b"1" + b"}" * 10_000, b"[" * 10_000 + b"]" * 10_000],
    ids=["nested-objects", "nested-arrays"],
)
def test_a_value_nested_thousands_deep_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(EventDecodeError) as refused:
        Codec(Transaction).decode(data)
    assert refused.value.reason in ("decode_error", "validation_error")


def test_a_string_version_is_a_validation_error_not_an_unknown_version() -> None:
    record = (
        b'{"schema_version":"1","kind":"chargeback","entity_id":"c-1","event_time":1.7e9,'
        b'"reported_time":1.7e9,"transaction_id":"t-1"}'
    )
    with pytest.raises(EventDecodeError) as refused:
        Codec(Label).decode(record)
    assert refused.value.reason == "validation_error"


def test_a_transaction_id_longer_than_an_entity_id_is_refused() -> None:
    record = (
        b'{"kind":"chargeback","entity_id":"c-1","event_time":1.7e9,"reported_time":1.7e9,"transaction_id":"'
        + b"t" * 200
        + b'"}'
    )
    with pytest.raises(EventDecodeError) as refused:
        Codec(Label).decode(record)
    assert refused.value.reason == "validation_error"
