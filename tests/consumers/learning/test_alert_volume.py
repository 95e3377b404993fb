"""Alert volume: calibrated scores, the hourly alert budget, and one incident per machine that stays bad."""

from __future__ import annotations

import random

import pytest

from consumers.fraud.scorer import FraudScorer
from consumers.fraud.settings import FraudSettings
from consumers.learning.champion import ModelSlot
from consumers.learning.models import correct_prior
from consumers.learning.ranking import roc_auc
from consumers.learning.settings import ModelSettings, ThresholdSettings
from consumers.learning.synthetic import FraudStream
from consumers.learning.thresholds import AlertBudget
from consumers.maintenance.scorer import MaintenanceScorer
from consumers.maintenance.settings import MaintenanceSettings
from contracts import Alert, Transaction
from streaming.schemas import WindowAggregate

HOUR = 3_600.0


def test_scores_keep_the_models_ranking_and_probabilities_are_calibrated_beside_them() -> None:
    rng = random.Random(3)
    rate = 0.01
    slot = ModelSlot("doc", "champion", ModelSettings(model="logistic", imbalance="under"), export=False)
    labels, emitted, raw, corrected, probabilities = [], [], [], [], []
    for _ in range(30_000):
        label = rng.random() < rate
        x = {"a": rng.gauss(1.5 if label else 0.0, 1.0), "b": rng.gauss(0.0, 1.0)}
        score = slot.score(x)
        labels.append(label)
        emitted.append(score)
        raw.append(slot.model.predict_proba_one(x).get(True, 0.0))
        corrected.append(correct_prior(raw[-1], slot.ratio))  # what scores used to be
        probabilities.append(slot.probability(score))
        slot.learn(x, label, score)
    # Scores are the model's own: their ranking is the model's, whatever the sampling did to the prior.
    assert emitted == raw
    # A correction whose ratio moves as the model learns reorders scores from different moments.
    assert roc_auc(labels, corrected) < roc_auc(labels, emitted) - 0.005
    # Undersampled to 50/50 the scores average far above the real 1 %; the probabilities near it.
    recent = slice(20_000, None)
    assert sum(emitted[recent]) / 10_000 > 10 * rate
    assert rate / 2 <= sum(probabilities[recent]) / 10_000 <= 2 * rate


def budgeted(alerts: list[Alert]) -> list[Alert]:
    """New incidents and reminders: everything but escalations (at most one per incident)."""
    return [
        alert for alert in alerts if alert.status == "firing" and "escalated_from" not in alert.attributes
    ]


def most_in_any_hour(times: list[float]) -> int:
    times = sorted(times)
    start, most = 0, 0
    for end, time in enumerate(times):
        while times[start] <= time - HOUR:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize(
    "threshold",
    [
        ThresholdSettings(alerts_per_hour=4.0),  # the default mode, budget
        ThresholdSettings(mode="fixed", value=0.0, alerts_per_hour=4.0),  # worst case: everything crosses
    ],
    ids=["budget", "fixed-zero"],
)
def test_rare_event_stream_stays_within_the_alert_budget(threshold: ThresholdSettings) -> None:
    # 3 % fraud at 1 transaction per 10 s: ~11 frauds and 360 transactions an hour, for 14 hours.
    stream = FraudStream(seed=11, cards=400, rate_per_second=0.1, chargeback_delay_seconds=1_800.0)
    settings = FraudSettings(challenger=None, label_horizon_seconds=3_600.0, threshold=threshold)
    scorer = FraudScorer(settings, export=False, clock=lambda: 0.0)
    alerts: list[Alert] = []
    first = last = None
    for event in stream.events(5_000):
        if isinstance(event, Transaction):
            first = first if first is not None else event.event_time
            last = event.event_time
            alerts += scorer.score(event).alerts
        else:
            scorer.on_label(event)
    hours = (last - first) / HOUR
    fraud = [alert for alert in alerts if alert.kind == "fraud"]
    assert budgeted(fraud), "the budget must still let alerts through"
    assert most_in_any_hour([alert.event_time for alert in budgeted(fraud)]) <= 4
    # Escalations (warning to critical) are never held back, but there is at most one per incident.
    incidents = {alert.attributes.get("incident_id", alert.alert_id) for alert in fraud}
    assert len(fraud) - len(budgeted(fraud)) <= len(incidents)
    assert len(fraud) <= 2 * 4 * (hours + 1)
    if threshold.mode == "fixed":
        assert scorer.gate.over_budget > 0


def test_alert_budget_counts_a_rolling_hour_of_event_time() -> None:
    budget = AlertBudget(alerts_per_hour=3)
    taken = [budget.take(t) for t in (0.0, 100.0, 200.0, 300.0, 3_599.0, 3_600.0, 3_700.0, 3_800.0)]
    assert taken == [True, True, True, False, False, True, True, True]
    assert budget.refused == 2


class ScriptedAnomaly:
    """Stands in for the anomaly model: returns a scripted score per window."""

    def __init__(self, scores: list[float]) -> None:
        self.scores = iter(scores)

    def score_one(self, x: dict) -> float:
        return next(self.scores)

    def learn_one(self, x: dict) -> None:
        return None


def test_machine_that_stays_bad_alerts_once_per_cooldown_escalates_and_resolves_once() -> None:
    script = [0.6] * 30 + [0.95] + [0.6, 0.1] * 5 + [0.1] * 4  # bad, worse, hovering, recovered
    settings = MaintenanceSettings(challenger=None, anomaly_threshold=0.5, resolve_after_windows=3)
    scorer = MaintenanceScorer(settings, export=False, clock=lambda: 0.0, alert_cooldown=600.0)
    scorer.anomaly = ScriptedAnomaly(script)  # type: ignore[assignment]
    alerts: list[Alert] = []
    for index in range(len(script)):
        start = 1.7e9 + 60.0 * index
        window = WindowAggregate(
            key="m-1",
            window_start=start,
            window_end=start + 60.0,
            count=60,
            aggregates={"torque_nm": {"mean": 40.0}},
            closed_by="watermark",
            attributes={"machine_type": "M"},
        )
        alerts += scorer.score(window).alerts
    firing = [alert for alert in alerts if alert.status == "firing"]
    resolved = [alert for alert in alerts if alert.status == "resolved"]
    # 41 bad windows: the first alert, then reminders once per 10 minutes. An anomaly score is no
    # probability of failure, so before a failure was learned nothing is critical, however anomalous.
    assert firing[0].severity == "warning" and "reminder" not in firing[0].attributes
    assert all(alert.severity == "warning" for alert in firing)
    assert 3 <= len(firing) <= 6
    # Hovering below the threshold for single windows does not resolve it; the recovery does, once.
    assert len(resolved) == 1 and resolved[0].event_time > firing[-1].event_time
