"""The delayed-label joins: positives, negatives by horizon, expiry, bounds."""

from __future__ import annotations

from consumers.learning.labels import ChargebackJoin, FailureJoin, LabelBuffer, Prediction
from contracts import Label

T0 = 1.8e9


def chargeback(transaction_id: str, event_time: float, reported_time: float) -> Label:
    return Label(
        kind="chargeback",
        entity_id="c-1",
        event_time=event_time,
        reported_time=reported_time,
        transaction_id=transaction_id,
    )


def failure(machine: str, event_time: float, reported_time: float | None = None) -> Label:
    return Label(
        kind="machine_failure",
        entity_id=machine,
        event_time=event_time,
        reported_time=reported_time or event_time,
        failure_mode="power",
    )


def test_chargeback_joins_by_id_and_unlabelled_become_negative_after_horizon() -> None:
    join = ChargebackJoin(horizon_seconds=600.0, limit=100)
    for index in range(5):
        join.add(Prediction(f"t-{index}", "c-1", T0 + index * 100, {"i": float(index)}))
    [joined] = join.label(chargeback("t-3", T0 + 300, T0 + 450))
    assert (joined.label, joined.outcome, joined.delay_seconds) == (True, "joined", 150.0)
    assert join.label(chargeback("t-3", T0 + 300, T0 + 460)) == []  # already joined: unknown now
    assert join.label(chargeback("t-missing", T0, T0)) == []
    assert join.advance(T0 + 599) == []
    expired = join.advance(T0 + 750)
    assert [(r.prediction.event_id, r.label, r.outcome) for r in expired] == [
        ("t-0", False, "negative_by_horizon"),
        ("t-1", False, "negative_by_horizon"),
    ]
    assert len(join) == 2  # t-2 and t-4 still wait


def test_pending_state_is_bounded_oldest_evicted_first() -> None:
    join = ChargebackJoin(horizon_seconds=600.0, limit=3)
    evicted = [join.add(Prediction(f"t-{i}", "c", T0 + i, {})) for i in range(5)]
    assert [p.event_id for batch in evicted for p in batch] == ["t-0", "t-1"]
    assert len(join) == 3 and join.pending.evicted == 2
    # A redelivered prediction replaces its earlier entry instead of counting twice.
    join.add(Prediction("t-4", "c", T0 + 4, {"again": 1.0}))
    assert len(join) == 3


def test_failure_marks_windows_within_horizon_positive_only_for_that_machine() -> None:
    join = FailureJoin(horizon_seconds=1_000.0, grace_seconds=200.0, limit=1_000)
    for machine in ("m-1", "m-2"):
        for minute in range(0, 30):
            end = T0 + minute * 60
            join.add(Prediction(f"{machine}@{end}", machine, end, {}))
    resolved = join.label(failure("m-1", T0 + 1_500, T0 + 1_560))
    ends = sorted(r.prediction.event_time - T0 for r in resolved)
    assert ends == [float(s) for s in range(540, 1_501, 60)]  # [t - H, t]
    assert all(r.label and r.outcome == "joined" and r.prediction.entity_id == "m-1" for r in resolved)
    # Older m-1 windows and every m-2 window become negatives once H + grace have passed.
    negatives = join.advance(T0 + 1_740 + 1_200 + 1)
    assert {r.prediction.entity_id for r in negatives} == {"m-1", "m-2"}
    assert all(not r.label and r.outcome == "negative_by_horizon" for r in negatives)
    m1_negatives = [r.prediction.event_time - T0 for r in negatives if r.prediction.entity_id == "m-1"]
    # Windows before t - H, and those after the failure (the repaired machine), are negatives.
    assert all(end < 540 or end > 1_500 for end in m1_negatives) and len(m1_negatives) == 30 - len(resolved)
    assert join.label(failure("m-9", T0)) == []


def test_label_buffer_releases_in_reported_time_order_and_stays_bounded() -> None:
    buffer = LabelBuffer(limit=2)
    for index, reported in enumerate((300.0, 100.0, 200.0)):
        buffer.push(chargeback(f"t-{index}", T0, T0 + reported))
    # Over the limit: the oldest is released early rather than growing without bound.
    assert [label.transaction_id for label in buffer.due(T0)] == ["t-1"]
    assert [label.transaction_id for label in buffer.due(T0 + 1_000)] == ["t-2", "t-0"]
    import pickle

    buffer.push(chargeback("t-9", T0, T0 + 5))
    restored = pickle.loads(pickle.dumps(buffer))
    assert [label.transaction_id for label in restored.due(T0 + 10)] == ["t-9"]
