"""Model factory, features, thresholds and monitoring."""

from __future__ import annotations

import random

import pytest

from consumers.fraud.features import FraudFeatures
from consumers.learning.models import build_model, describe, predict_positive, strategy_settings
from consumers.learning.monitoring import OnlineMonitor
from consumers.learning.settings import ModelSettings, ThresholdSettings
from consumers.learning.thresholds import BudgetThreshold, PrecisionThreshold, build_threshold
from contracts import Transaction


@pytest.mark.parametrize("model", ["logistic", "hoeffding", "arf"])
@pytest.mark.parametrize("imbalance", ["none", "under", "over", "weight", "under+weight"])
def test_every_factory_combination_learns_a_separable_rare_class(model: str, imbalance: str) -> None:
    classifier = build_model(ModelSettings(model=model, imbalance=imbalance, seed=1))
    rng = random.Random(0)
    for _ in range(1_500):
        positive = rng.random() < 0.05
        classifier.learn_one(
            {"signal": rng.gauss(3.0 if positive else 0.0, 0.5), "noise": rng.random()}, positive
        )
    high = predict_positive(classifier, {"signal": 3.0, "noise": 0.5})
    low = predict_positive(classifier, {"signal": 0.0, "noise": 0.5})
    assert 0.0 <= low < high <= 1.0


def test_strategy_names() -> None:
    assert describe(strategy_settings("arf5")) == "arf5+none"
    assert describe(strategy_settings("hoeffding+over")) == "hoeffding+over"
    with pytest.raises(ValueError, match="unknown strategy"):
        strategy_settings("svm")
    with pytest.raises(ValueError, match="unknown imbalance"):
        strategy_settings("arf3+smote")


def make_tx(
    index: int,
    seconds: float,
    amount: float = 20.0,
    merchant: str = "m-1",
    category: str = "food",
    latitude: float = 48.85,
    device: str = "d-1",
) -> Transaction:
    return Transaction(
        transaction_id=f"t-{index}",
        card_id="c-1",
        customer_id="u-1",
        merchant_id=merchant,
        merchant_category=category,
        amount=amount,
        event_time=1.8e9 + seconds,
        latitude=latitude,
        longitude=2.35,
        device_id=device,
    )


def test_fraud_features_use_history_before_the_transaction() -> None:
    features = FraudFeatures()
    first = features.transform(make_tx(0, 0))
    assert first["first_transaction"] == 1.0 and first["tx_count_1d"] == 0.0
    features.transform(make_tx(1, 1_800, amount=30.0))
    later = features.transform(
        make_tx(2, 4_000, amount=100.0, merchant="m-9", category="travel", device="d-2")
    )
    # 1 h window holds only the transaction at 1,800 s; the day holds both.
    assert (later["tx_count_1h"], later["amount_1h"]) == (1.0, 30.0)
    assert (later["tx_count_1d"], later["amount_1d"]) == (2.0, 50.0)
    assert later["amount_ratio"] == pytest.approx(100.0 / 25.0)
    assert (later["new_merchant"], later["new_category"], later["device_change"]) == (1.0, 1.0, 1.0)
    far = features.transform(make_tx(3, 4_060, latitude=58.85))  # ~1,100 km in a minute
    assert far["distance_km"] > 1_000 and far["speed_kmh"] > 60_000
    assert features.transform(make_tx(4, 200_000))["tx_count_1d"] == 0.0  # the day has passed


def test_idle_cards_are_forgotten_by_event_time() -> None:
    features = FraudFeatures(ttl_seconds=100.0)
    features.transform(make_tx(0, 0))
    other = make_tx(1, 500)
    features.transform(
        Transaction(**{**{f: getattr(other, f) for f in other.__struct_fields__}, "card_id": "c-2"})
    )
    assert features.evict_idle() == 1 and list(features.cards) == ["c-2"]


def test_thresholds() -> None:
    assert build_threshold(ThresholdSettings(mode="fixed", value=0.3)).value == 0.3
    precision = PrecisionThreshold(target_precision=0.9, initial=0.5, min_positives=5, refresh_every=50)
    rng = random.Random(1)
    for _ in range(2_000):
        label = rng.random() < 0.1
        precision.observe_label(min(1.0, max(0.0, rng.gauss(0.7 if label else 0.3, 0.15))), label)
    assert 0.5 < precision.value < 1.0
    budget = BudgetThreshold(alerts_per_hour=36.0, initial=0.5, refresh_every=100)
    for second in range(3_600):  # one event per second: 36/h is a 1 % budget
        budget.observe_score(rng.random(), 1.8e9 + second)
    assert 0.97 < budget.value < 1.0


def test_monitor_metrics_and_drift_on_a_changed_error_stream() -> None:
    monitor = OnlineMonitor("test", "champion", window_size=500, drift_grace=100, export=False)
    rng = random.Random(2)
    drifts = []
    for index in range(6_000):
        label = rng.random() < 0.1
        good = index < 3_000
        centre = (0.8 if label else 0.2) if good else (0.2 if label else 0.6)
        score = min(1.0, max(0.0, rng.gauss(centre, 0.1)))
        if monitor.update(label, score, score >= 0.5):
            drifts.append(index)
    assert drifts and min(drifts) >= 3_000
    assert monitor.roc_auc() < 0.2  # the recent window reflects the inverted scores
