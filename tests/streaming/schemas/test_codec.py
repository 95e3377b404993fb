"""`encode` refuses NaN and infinity wherever they hide, without walking events whose nulls are Nones."""

from __future__ import annotations

import math
import struct

import msgspec
import numpy as np
import pytest

from contracts.score import FeatureContribution, Score
from streaming.schemas import codec, encode


class Nested(msgspec.Struct):
    reading: float
    label: str | None = None


class Holder(msgspec.Struct):
    plain: float = 0.0
    maybe: float | None = None
    listed: list[float] = []
    mapped: dict[str, float] = {}
    nested: list[Nested] = []
    raw: bytes = b""


def score(**changes: object) -> Score:
    fields: dict[str, object] = {
        "kind": "fraud",
        "entity_id": "c-1",
        "event_id": "t-1",
        "event_time": 1.7e9,
        "score": 0.5,
        "threshold": 0.7,
        "decision": False,
        "model_name": "m",
        "model_version": 1,
        "top_features": [FeatureContribution("amount", 0.25)],
    }
    fields.update(changes)
    return Score(**fields)  # type: ignore[arg-type]


def test_an_event_whose_nulls_are_nones_is_encoded_without_walking_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walked: list[object] = []
    walk = codec._has_non_finite
    monkeypatch.setattr(codec, "_has_non_finite", lambda value: walked.append(value) or walk(value))
    event = score(rule=None, anomaly_score=None)
    data = encode(event)
    assert b"null" in data and msgspec.json.decode(data, type=Score) == event
    assert walked == []


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "where",
    ["plain", "maybe", "listed", "mapped", "nested"],
)
def test_nan_and_infinity_are_refused_wherever_they_are(bad: float, where: str) -> None:
    holder = {
        "plain": Holder(plain=bad),
        "maybe": Holder(maybe=bad),
        "listed": Holder(listed=[1.0, bad]),
        "mapped": Holder(mapped={"a": 1.0, "b": bad}),
        "nested": Holder(nested=[Nested(1.0), Nested(bad)]),
    }[where]
    with pytest.raises(ValueError, match="NaN or infinity"):
        encode(holder)


def test_a_score_with_a_non_finite_contribution_and_nones_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN or infinity"):
        encode(score(rule=None, top_features=[FeatureContribution("amount", math.inf)]))


def test_bytes_that_look_like_a_non_finite_float_do_not_refuse_a_finite_event() -> None:
    lookalike = b"\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00" + b"\xcb\xff\xf0"
    data = encode(Holder(maybe=None, raw=lookalike))
    assert msgspec.json.decode(data, type=Holder).raw == lookalike


def test_every_non_finite_bit_pattern_is_caught_and_no_finite_one_is() -> None:
    """NaN payloads and signs vary; the largest finite floats sit right next to infinity."""
    rng = np.random.default_rng(0)
    patterns = rng.integers(0, 2**63, size=2000, dtype=np.int64).astype(np.uint64)
    patterns |= rng.integers(0, 2, size=2000).astype(np.uint64) << np.uint64(63)
    edge = [
        0x7FEFFFFFFFFFFFFF,
        0xFFEFFFFFFFFFFFFF,
        0x0000000000000001,
        0x8000000000000000,
        0x7FF0000000000000,
    ]
    for bits in [*patterns.tolist(), *edge, 0x7FF8000000000001, 0xFFF0000000000000]:
        value = struct.unpack(">d", struct.pack(">Q", bits))[0]
        holder = Holder(maybe=None, listed=[value])
        if math.isfinite(value):
            assert msgspec.json.decode(encode(holder), type=Holder).listed == [value]
        else:
            assert codec._may_hold_non_finite(holder)
            with pytest.raises(ValueError):
                encode(holder)
