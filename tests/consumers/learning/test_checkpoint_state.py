"""Both scorers, with every model and imbalance strategy, checkpoint through the stable format (no class
of the project is pickled by its module path) and score identically after a restore."""

from __future__ import annotations

import pytest

from consumers.fraud.scorer import FraudScorer
from consumers.fraud.settings import FraudSettings
from consumers.learning.synthetic import FraudStream, MaintenanceStream
from consumers.maintenance.scorer import MaintenanceScorer
from consumers.maintenance.settings import MaintenanceSettings
from contracts import Label
from streaming.state import stable

MODELS = [
    {"model": "logistic", "imbalance": "under+weight"},
    {"model": "hoeffding", "imbalance": "weight"},
    {"model": "arf", "arf_models": 2, "imbalance": "over"},
]


def _feed(scorer: object, events: list[object]) -> list[float]:
    scores = []
    for event in events:
        if isinstance(event, Label):
            scorer.on_label(event)  # type: ignore[attr-defined]
        else:
            scores.append(scorer.score(event).score)  # type: ignore[attr-defined]
    return scores


@pytest.mark.parametrize("model", MODELS, ids=lambda model: f"{model['model']}+{model['imbalance']}")
def test_the_fraud_scorer_restores_from_stable_state(model: dict[str, object]) -> None:
    settings = FraudSettings(champion=model, challenger={"model": "hoeffding", "imbalance": "under"})
    events = list(FraudStream(seed=4, cards=60, fraud_rate=0.05).events(1_200))
    scorer = FraudScorer(settings, export=False)
    _feed(scorer, events[:900])
    restored = FraudScorer(settings, export=False)
    restored.restore(stable.loads(stable.dumps(scorer.snapshot())))
    assert _feed(restored, events[900:]) == _feed(scorer, events[900:])


@pytest.mark.parametrize("model", MODELS, ids=lambda model: f"{model['model']}+{model['imbalance']}")
def test_the_maintenance_scorer_restores_from_stable_state(model: dict[str, object]) -> None:
    settings = MaintenanceSettings(champion=model, challenger=None)
    events = list(MaintenanceStream(seed=6, machines=4).events(minutes=400))
    scorer = MaintenanceScorer(settings, export=False)
    split = len(events) * 2 // 3
    _feed(scorer, events[:split])
    restored = MaintenanceScorer(settings, export=False)
    restored.restore(stable.loads(stable.dumps(scorer.snapshot())))
    assert _feed(restored, events[split:]) == _feed(scorer, events[split:])
