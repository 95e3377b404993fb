"""AlertPolicy: cooldown, dedupe, escalation, resolution and checkpointing, all in event time."""

from __future__ import annotations

import pickle

import msgspec
import pytest

from consumers.alerting.suppression import AlertPolicy
from contracts import Alert, stable_alert_id

T0 = 1.7e9


def candidate(
    cause: str, severity: str = "warning", at: float = 0.0, entity: str = "m-1", kind: str = "maintenance"
) -> Alert:
    return Alert(
        alert_id=stable_alert_id(kind, entity, cause),
        kind=kind,
        entity_id=entity,  # type: ignore[arg-type]
        severity=severity,
        score=0.8,
        threshold=0.5,
        model_name="hst",
        model_version=3,  # type: ignore[arg-type]
        explanation="torque_mean=+2.0",
        event_time=T0 + at,
        created_at=T0 + at + 0.1,
    )


def test_first_alert_is_emitted_unchanged() -> None:
    policy = AlertPolicy(cooldown_seconds=600)
    alert = candidate("w1")
    assert policy.evaluate(alert) == alert
    assert policy.is_firing("maintenance", "m-1")


def test_same_severity_inside_cooldown_is_suppressed_then_reminded_after() -> None:
    policy = AlertPolicy(cooldown_seconds=600)
    assert policy.evaluate(candidate("w1", at=0)) is not None
    assert [policy.evaluate(candidate(f"w{i}", at=60 * i)) for i in range(2, 10)] == [None] * 8
    assert policy.suppressed["cooldown"] == 8
    reminder = policy.evaluate(candidate("w11", at=600))
    assert reminder is not None
    assert reminder.attributes["reminder"] == "true"
    assert reminder.attributes["suppressed_since_last"] == "8"
    assert reminder.attributes["incident_id"] == stable_alert_id("maintenance", "m-1", "w1")
    # The cooldown restarts from the reminder.
    assert policy.evaluate(candidate("w12", at=660)) is None


def test_exact_duplicate_is_dropped_even_after_cooldown() -> None:
    policy = AlertPolicy(cooldown_seconds=10)
    assert policy.evaluate(candidate("w1", at=0)) is not None
    assert policy.evaluate(candidate("w1", at=0)) is None
    assert policy.suppressed["duplicate"] == 1


def test_out_of_order_candidate_counts_as_inside_cooldown() -> None:
    policy = AlertPolicy(cooldown_seconds=600)
    assert policy.evaluate(candidate("w5", at=1000)) is not None
    assert policy.evaluate(candidate("w1", at=0)) is None


def test_escalation_is_never_held_back_and_lower_severity_does_not_downgrade() -> None:
    policy = AlertPolicy(cooldown_seconds=600)
    assert policy.evaluate(candidate("w1", "info", at=0)) is not None
    escalated = policy.evaluate(candidate("w2", "critical", at=30))
    assert escalated is not None and escalated.severity == "critical"
    assert escalated.attributes["escalated_from"] == "info"
    assert policy.evaluate(candidate("w3", "warning", at=60)) is None
    reminder = policy.evaluate(candidate("w4", "warning", at=700))
    assert reminder is not None and reminder.severity == "critical"


def test_cooldown_is_per_kind_and_entity() -> None:
    policy = AlertPolicy(cooldown_seconds=600)
    assert policy.evaluate(candidate("w1", entity="m-1")) is not None
    assert policy.evaluate(candidate("w1", entity="m-2")) is not None
    assert policy.evaluate(candidate("t1", entity="m-1", kind="drift")) is not None


def test_resolve_emits_once_with_incident_severity_and_stable_id() -> None:
    policy = AlertPolicy(cooldown_seconds=600, clock=lambda: T0 + 999)
    policy.evaluate(candidate("w1", "critical", at=0))
    resolved = policy.resolve("maintenance", "m-1", T0 + 300, "vibration back under threshold")
    assert resolved is not None
    assert (resolved.status, resolved.severity, resolved.created_at) == ("resolved", "critical", T0 + 999)
    assert resolved.attributes["firing_seconds"] == "300.000"
    assert resolved.alert_id == stable_alert_id(
        "maintenance", "m-1", "resolved:" + stable_alert_id("maintenance", "m-1", "w1")
    )
    assert policy.resolve("maintenance", "m-1", T0 + 360, "again") is None
    # A new incident after resolution alerts immediately, cooldown or not.
    assert policy.evaluate(candidate("w9", at=400)) is not None


def test_resolve_without_incident_is_none() -> None:
    assert AlertPolicy().resolve("maintenance", "m-9", T0, "ok") is None


def test_incidents_expire_in_event_time() -> None:
    policy = AlertPolicy(cooldown_seconds=60, expiry_seconds=3600)
    policy.evaluate(candidate("t1", entity="c-1", kind="fraud", at=0))
    policy.evaluate(candidate("t2", entity="c-2", kind="fraud", at=3000))
    assert len(policy) == 2
    policy.evaluate(candidate("t3", entity="c-3", kind="fraud", at=4000))
    assert not policy.is_firing("fraud", "c-1")
    assert len(policy) == 2


def test_max_incidents_bounds_memory() -> None:
    policy = AlertPolicy(max_incidents=3, max_remembered_ids=5)
    for index in range(10):
        policy.evaluate(candidate(f"w{index}", entity=f"m-{index}", at=index))
    assert len(policy) == 3
    assert len(policy.snapshot()["emitted_ids"]) == 5


def test_snapshot_restore_round_trip_through_pickle() -> None:
    policy = AlertPolicy(cooldown_seconds=600)
    policy.evaluate(candidate("w1", "warning", at=0))
    restored = AlertPolicy(cooldown_seconds=600)
    restored.restore(pickle.loads(pickle.dumps(policy.snapshot())))
    assert restored.evaluate(candidate("w1", at=0)) is None  # duplicate remembered
    assert restored.evaluate(candidate("w2", at=60)) is None  # cooldown remembered
    assert restored.evaluate(candidate("w3", "critical", at=90)) is not None
    assert restored.resolve("maintenance", "m-1", T0 + 120, "ok") is not None


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="cooldown"):
        AlertPolicy(cooldown_seconds=-1)
    with pytest.raises(ValueError, match="resolve"):
        AlertPolicy().evaluate(msgspec.structs.replace(candidate("w1"), status="resolved"))
    with pytest.raises(ValueError, match="snapshot version"):
        AlertPolicy().restore({"version": 99})
