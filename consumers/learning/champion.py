"""Champion and challenger: the champion decides, a shadow challenger scores the same events, both learn
from the same labels, and their online metrics are exported side by side (label `role`).

Promotion is by config. After a restart the models restored from the checkpoint are matched to the
configured ones: when the configured champion equals the stored challenger's settings, the challenger is
promoted *with everything it learned* (and the old champion becomes the challenger if the config asks for
its settings there). A configured model that matches neither starts fresh. Each change of model in a role
bumps that role's version.
"""

from __future__ import annotations

from typing import Any

from consumers.learning.calibration import ScoreCalibrator
from consumers.learning.explain import Explainer
from consumers.learning.metrics import MODEL_VERSION
from consumers.learning.models import (
    build_model,
    correct_prior,
    describe,
    predict_positive,
    prior_ratio,
    samplers,
)
from consumers.learning.monitoring import OnlineMonitor
from consumers.learning.settings import ModelSettings
from streaming.state.stable import stable

__all__ = ["ChampionChallenger", "ModelSlot"]


@stable("learning.model-slot/1")
class ModelSlot:
    """One model with its name, version, explainer, calibrator and online monitor.

    `score` is the model's raw score: it ranks events, and is what thresholds, budgets and the ranking
    metrics use. `probability(score)` is the calibrated probability on the real stream (`calibration`),
    which falls back on the prior correction of the sampling the model learned under until enough labels
    were seen.

    Parameters
    ----------
    service, role
        Metrics labels.
    settings
        What the model factory builds.
    version
        Bumped on each change of model in this role.
    monitor_window, top_features, drift_grace
        See `OnlineMonitor` and `Explainer`.
    export
        Export the monitor's Prometheus metrics.

    >>> slot = ModelSlot("doc", "champion", ModelSettings(model="logistic", imbalance="none"), export=False)
    >>> slot.name, slot.version, slot.score({"x": 1.0}), slot.probability(0.5)
    ('logistic+none', 1, 0.5, 0.5)
    """

    def __init__(
        self,
        service: str,
        role: str,
        settings: ModelSettings,
        version: int = 1,
        monitor_window: int = 1_000,
        top_features: int = 3,
        drift_grace: int = 500,
        export: bool = True,
    ) -> None:
        self.service = service
        self.role = role
        self.settings = settings
        self.name = describe(settings)
        self.version = version
        self.learned = 0
        self.positives = 0
        self.negatives = 0
        self.ratio = 1.0
        self.model = build_model(settings)
        self._sampled = bool(samplers(self.model))
        self.explainer = Explainer(self.model, top_k=top_features)
        self.calibrator = ScoreCalibrator()
        self.monitor = OnlineMonitor(
            service, role, window_size=monitor_window, drift_grace=drift_grace, export=export
        )

    @property
    def knows_positives(self) -> bool:
        """Whether the model has learned from a positive: before that its scores mean nothing."""
        return self.positives > 0

    def score(self, x: dict[str, float]) -> float:
        return predict_positive(self.model, x)

    def probability(self, score: float) -> float:
        """The calibrated probability of a score this model gave."""
        return self.calibrator.probability(score, fallback=correct_prior(score, self.ratio))

    def learn(self, x: dict[str, Any], label: bool, score: float | None = None) -> None:
        """Learn a labelled example; `score` is what the model said before the label was known."""
        if score is not None:
            self.calibrator.observe(score, label)
        self.model.learn_one(x, bool(label))  # type: ignore[arg-type]
        self.learned += 1
        if label:
            self.positives += 1
        else:
            self.negatives += 1
        if self._sampled or label or self.learned == 1:
            self.ratio = prior_ratio(self.model, self.settings, self.positives, self.negatives)

    def set_role(self, role: str) -> None:
        self.role = role
        self.monitor.role = role


@stable("learning.champion-challenger/1")
class ChampionChallenger:
    """The champion slot and an optional challenger slot of one service.

    >>> pair = ChampionChallenger("doc", ModelSettings(model="logistic"), ModelSettings(model="hoeffding"),
    ...                           export=False)
    >>> pair.challenger.name
    'hoeffding+weight'
    >>> changes = pair.reconcile(ModelSettings(model="hoeffding"), None)   # promote the challenger
    >>> pair.champion.name, pair.champion.version, pair.challenger, changes
    ('hoeffding+weight', 2, None, ['champion: promoted challenger hoeffding+weight', 'challenger: removed'])
    """

    def __init__(
        self,
        service: str,
        champion: ModelSettings,
        challenger: ModelSettings | None,
        monitor_window: int = 1_000,
        top_features: int = 3,
        drift_grace: int = 500,
        export: bool = True,
    ) -> None:
        self.service = service
        self._options: dict[str, Any] = {
            "monitor_window": monitor_window,
            "top_features": top_features,
            "drift_grace": drift_grace,
            "export": export,
        }
        self.champion = ModelSlot(service, "champion", champion, **self._options)
        self.challenger = (
            ModelSlot(service, "challenger", challenger, **self._options) if challenger is not None else None
        )

    @property
    def slots(self) -> list[ModelSlot]:
        return [self.champion] if self.challenger is None else [self.champion, self.challenger]

    def reconcile(self, champion: ModelSettings, challenger: ModelSettings | None) -> list[str]:
        """Match restored models to the configured ones; returns what changed, for the log."""
        changes = []
        old_champion, old_challenger = self.champion, self.challenger
        if old_champion.settings == champion:
            new_champion = old_champion
        elif old_challenger is not None and old_challenger.settings == champion:
            new_champion = old_challenger
            new_champion.version = old_champion.version + 1
            changes.append(f"champion: promoted challenger {new_champion.name}")
        else:
            new_champion = ModelSlot(
                self.service, "champion", champion, version=old_champion.version + 1, **self._options
            )
            changes.append(f"champion: new model {new_champion.name}")
        new_champion.set_role("champion")
        new_challenger: ModelSlot | None
        if challenger is None:
            new_challenger = None
            if old_challenger is not None:
                changes.append("challenger: removed")
        elif (
            old_challenger is not None
            and old_challenger is not new_champion
            and old_challenger.settings == (challenger)
        ):
            new_challenger = old_challenger
        elif old_champion is not new_champion and old_champion.settings == challenger:
            new_challenger = old_champion
            new_challenger.version += 1
            changes.append(f"challenger: former champion {new_challenger.name}")
        else:
            version = old_challenger.version + 1 if old_challenger is not None else 1
            new_challenger = ModelSlot(
                self.service, "challenger", challenger, version=version, **self._options
            )
            changes.append(f"challenger: new model {new_challenger.name}")
        if new_challenger is not None:
            new_challenger.set_role("challenger")
        self.champion, self.challenger = new_champion, new_challenger
        return changes

    def export(self) -> None:
        for slot in self.slots:
            if slot.monitor.export_enabled:
                MODEL_VERSION.labels(self.service, slot.role).set(slot.version)
            slot.monitor.export()
