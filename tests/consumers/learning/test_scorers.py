"""The fraud and maintenance pipelines without Kafka: determinism, drift, promotion, prefilter."""

from __future__ import annotations

import pickle

from consumers.fraud.scorer import FraudScorer
from consumers.fraud.settings import FraudSettings
from consumers.learning.models import describe
from consumers.learning.settings import ModelSettings
from consumers.learning.synthetic import FraudStream, MaintenanceStream
from consumers.maintenance.scorer import MaintenanceScorer
from consumers.maintenance.settings import MaintenanceSettings
from contracts import Transaction
from streaming.schemas import WindowAggregate


def feed(scorer: FraudScorer, events: list) -> list[tuple]:
    out = []
    for event in events:
        if isinstance(event, Transaction):
            decision = scorer.score(event)
            out.append(
                (
                    event.transaction_id,
                    decision.score,
                    decision.decision,
                    decision.model_version,
                    decision.rule,
                    tuple(decision.top_features),
                )
            )
        else:
            scorer.on_label(event)
    return out


def test_fraud_snapshot_restore_then_replay_is_identical() -> None:
    settings = FraudSettings(label_horizon_seconds=300.0)
    events = list(
        FraudStream(seed=4, cards=300, rate_per_second=5.0, chargeback_delay_seconds=60.0).events(3_000)
    )
    live = FraudScorer(settings, export=False)
    feed(live, events[:1_500])
    saved = pickle.dumps(live.snapshot())
    expected = feed(live, events[1_500:])
    restored = FraudScorer(settings, export=False)
    assert restored.restore(pickle.loads(saved)) == []
    assert feed(restored, events[1_500:]) == expected
    assert live.models.champion.learned > 500 and live.models.challenger is not None


def test_maintenance_snapshot_restore_then_replay_is_identical() -> None:
    settings = MaintenanceSettings(horizon_seconds=1_200.0, label_grace_seconds=200.0)
    events = list(MaintenanceStream(seed=3, machines=6).events(minutes=600))
    live = MaintenanceScorer(settings, export=False)

    def run(scorer: MaintenanceScorer, part: list) -> list[tuple]:
        out = []
        for event in part:
            if isinstance(event, WindowAggregate):
                d = scorer.score(event)
                out.append(
                    (
                        event.window_id,
                        d.score,
                        d.anomaly_score,
                        d.decision,
                        d.model_name,
                        [a.alert_id for a in d.alerts],
                    )
                )
            else:
                scorer.on_label(event)
        return out

    half = len(events) // 2
    run(live, events[:half])
    saved = pickle.dumps(live.snapshot())
    expected = run(live, events[half:])
    restored = MaintenanceScorer(settings, export=False)
    restored.restore(pickle.loads(saved))
    assert run(restored, events[half:]) == expected
    assert live.positives_learned > 0


def test_drift_on_injected_concept_change_raises_alert_after_the_change_only() -> None:
    def drift_points(drift_after: int | None) -> list[int]:
        scorer = FraudScorer(FraudSettings(challenger=None, label_horizon_seconds=600.0), export=False)
        stream = FraudStream(
            seed=3, cards=2_000, rate_per_second=5.0, chargeback_delay_seconds=300.0, drift_after=drift_after
        )
        seen, points = 0, []
        for event in stream.events(16_000):
            if isinstance(event, Transaction):
                scorer.score(event)
                seen += 1
            else:
                scorer.on_label(event)
            points += [seen for alert in scorer.take_drift_alerts() if alert.kind == "drift"]
        return points

    assert drift_points(None) == []
    detected = drift_points(9_000)
    assert detected and all(point > 9_000 for point in detected)


def test_promotion_by_config_keeps_what_the_challenger_learned() -> None:
    arf = ModelSettings(model="arf", imbalance="under", arf_models=3)  # ARF stays available by config
    settings = FraudSettings(label_horizon_seconds=300.0, challenger=arf)
    scorer = FraudScorer(settings, export=False)
    feed(scorer, list(FraudStream(seed=1, cards=200, chargeback_delay_seconds=60.0).events(2_000)))
    challenger = scorer.models.challenger
    assert challenger is not None and challenger.learned > 0
    swapped = settings.model_copy(update={"champion": settings.challenger, "challenger": settings.champion})
    promoted = FraudScorer(swapped, export=False)
    changes = promoted.restore(pickle.loads(pickle.dumps(scorer.snapshot())))
    assert changes == [
        "champion: promoted challenger arf3+under",
        f"challenger: former champion {describe(settings.champion)}",
    ]
    assert promoted.models.champion.learned == challenger.learned
    assert promoted.models.champion.version == 2 and promoted.models.champion.role == "champion"
    fresh = FraudScorer(
        settings.model_copy(update={"champion": ModelSettings(model="hoeffding")}), export=False
    )
    assert fresh.restore(scorer.snapshot())[0] == "champion: new model hoeffding+weight"
    assert fresh.models.champion.learned == 0


def test_prefilter_counts_rules_and_saves_model_work() -> None:
    scorer = FraudScorer(FraudSettings(challenger=None, safe_amount_below=40.0), export=False)
    decisions = [scorer.score(tx) for tx, _ in FraudStream(seed=8, cards=50).labelled(1_000)]
    ruled = [d for d in decisions if d.rule]
    assert ruled and scorer.model_scored == 1_000 - len(ruled)
    assert sum(scorer.prefilter.hits.values()) == len(ruled)
    assert all(d.model_name == "rules" and d.score in (0.0, 1.0) for d in ruled)
    assert 0 < scorer.prefilter.skipped_share < 1
