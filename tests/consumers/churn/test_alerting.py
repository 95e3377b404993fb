"""Churn alerts: high-value customers whose risk crossed the threshold, deduplicated across weeks."""

from __future__ import annotations

import pandas as pd

from consumers.churn.alerting import ChurnAlertPolicy
from consumers.churn.weeks import IsoWeek
from contracts import Alert
from streaming.schemas import Codec, encode

WEEK = IsoWeek(2026, 40)


def _scores(probabilities: dict[str, float], values: dict[str, float] | None = None) -> pd.DataFrame:
    customers = list(probabilities)
    monetary = [(values or {}).get(customer, 1_000.0) for customer in customers]
    return pd.DataFrame(
        {
            "customer_id": customers,
            "probability": [probabilities[c] for c in customers],
            "monetary_value": monetary,
            "expected_lost_value": [probabilities[c] * m for c, m in zip(customers, monetary, strict=True)],
            "risk_band": ["high"] * len(customers),
            "top_reasons": [["recency_days=40 (typical 3)"]] * len(customers),
        }
    )


def test_alerts_are_deduplicated_across_weeks_unless_the_risk_rose() -> None:
    policy = ChurnAlertPolicy(threshold=0.5, value_quantile=0.0, rise=0.1)
    weeks = [
        {"a": 0.6, "b": 0.4, "c": 0.9},  # a, c alerted
        {"a": 0.65, "b": 0.55, "c": 0.9},  # b crossed; a rose too little; c unchanged
        {"a": 0.75, "b": 0.3, "c": 0.95},  # a rose 0.15 over its alert; b dropped out
        {"a": 0.76, "b": 0.6, "c": 0.2},  # b crossed again; c dropped out
        {"a": 0.7, "b": 0.6, "c": 0.7},  # c crossed again
    ]
    expected = [["a", "c"], ["b"], ["a"], ["b"], ["c"]]
    state = None
    for offset, (probabilities, wanted) in enumerate(zip(weeks, expected, strict=True)):
        alerted, state = policy.select(_scores(probabilities), state, WEEK + offset)
        assert alerted["customer_id"].tolist() == wanted, offset
    assert sorted(state["customer_id"]) == ["a", "b", "c"]


def test_only_high_value_customers_are_alerted_and_alerts_are_stable_events() -> None:
    policy = ChurnAlertPolicy(threshold=0.5, min_monetary_value=100.0, value_quantile=0.5)
    scores = _scores(
        {"a": 0.9, "b": 0.9, "c": 0.9, "d": 0.1}, {"a": 50.0, "b": 500.0, "c": 900.0, "d": 2_000.0}
    )
    alerted, _state = policy.select(scores, None, WEEK)
    assert alerted["customer_id"].tolist() == ["c"]  # a is below 100, b below the median value
    alerts = policy.alerts(alerted, WEEK, "random_forest+oversample", 202640)
    again = policy.alerts(alerted, WEEK, "random_forest+oversample", 202640)
    assert [encode(alert) for alert in alerts] == [encode(alert) for alert in again]
    alert = Codec(Alert).decode(encode(alerts[0]))
    assert alert.kind == "churn" and alert.entity_id == "c" and alert.severity == "critical"
    assert alert.event_time == WEEK.end_seconds and alert.attributes["week"] == "2026-W40"
    assert "recency_days" in alert.explanation and alert.score == 0.9
