"""The maintenance pipeline without Kafka: window + machine-baseline features, an unsupervised anomaly score,
the champion/challenger failure models, the horizon label join, online metrics, drift and alerts (with a
"resolved" alert once a machine's score falls back below the threshold). `streaming consume maintenance`
wraps it in the consume loop; `streaming evaluate --task maintenance` runs the same features and models
over a file.

A score record's `score` is always the champion's (so scores from every moment rank together); until the
champion has learned from a failure, the *decision* comes from the anomaly score instead (the record then
says `decided_by: anomaly`). An alert is `critical` when the calibrated probability of failure within the
horizon reaches `critical_above`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from river import anomaly, compose, preprocessing

from consumers.learning.labels import FailureJoin, Prediction, Resolution
from consumers.learning.metrics import (
    ALERTS_EMITTED,
    ALERTS_SUPPRESSED,
    MODEL_ANOMALY_SCORE,
    MODEL_PENDING_EVICTED,
    MODEL_SCORE,
    MODEL_SCORES,
    initialise,
)
from consumers.learning.scorer_base import ScorerBase, decision_attributes
from consumers.maintenance.features import MaintenanceFeatures
from consumers.maintenance.settings import MaintenanceSettings
from contracts import Alert, FeatureContribution, Label, Score, stable_alert_id
from streaming.schemas import WindowAggregate

__all__ = ["MaintenanceDecision", "MaintenanceScorer"]

SERVICE = "maintenance"
MACHINE_TYPES: tuple[str, ...] = ("L", "M", "H", "unknown")


@dataclass(slots=True)
class MaintenanceDecision:
    """The outcome of scoring one window."""

    window: WindowAggregate
    score: float
    probability: float
    decision: bool
    threshold: float
    model_name: str
    model_version: int
    anomaly_score: float
    decided_by: str = "model"
    challenger_score: float | None = None
    challenger_name: str = ""
    challenger_version: int = 0
    top_features: list[FeatureContribution] = field(default_factory=list)
    explanation_method: str = ""
    examples_learned: int = 0
    alerts: list[Alert] = field(default_factory=list)
    seconds: float = 0.0


class MaintenanceScorer(ScorerBase):
    """Everything the maintenance service knows; `snapshot()`/`restore()` make it one checkpoint.

    Until the champion has learned from a failure, decisions come from the anomaly score against
    `anomaly_threshold` (the score record then says `decided_by: anomaly`).

    >>> from streaming.schemas import WindowAggregate
    >>> scorer = MaintenanceScorer(MaintenanceSettings(challenger=None), export=False)
    >>> window = WindowAggregate(key="m-1", window_start=1.7e9, window_end=1.7e9 + 60, count=60,
    ...     aggregates={"torque_nm": {"mean": 40.0, "max": 44.0}}, closed_by="watermark",
    ...     attributes={"machine_type": "M"})
    >>> decision = scorer.score(window)
    >>> decision.model_name, decision.decided_by, decision.decision, len(scorer.join)
    ('blend1+none', 'anomaly', False, 1)
    """

    service = SERVICE
    label_kind = "machine_failure"

    def __init__(
        self,
        settings: MaintenanceSettings,
        export: bool = True,
        clock: Any = time.time,
        alert_cooldown: float = 600.0,
    ) -> None:
        super().__init__(settings, export, clock, alert_cooldown)
        self.settings: MaintenanceSettings = settings
        self.features = MaintenanceFeatures(history_windows=settings.history_windows)
        self.anomaly = compose.Pipeline(
            preprocessing.MinMaxScaler(),
            anomaly.HalfSpaceTrees(
                n_trees=settings.anomaly_trees,
                height=settings.anomaly_height,
                window_size=settings.anomaly_window_size,
                seed=settings.champion.seed,
            ),
        )
        #: Consecutive windows below the threshold of each firing machine (hysteresis before "resolved").
        self.clear_streak: dict[str, int] = {}
        self.join = FailureJoin(
            settings.horizon_seconds, settings.label_grace_seconds, settings.pending_limit
        )
        self.positives_learned = 0
        if export:
            initialise(SERVICE, "maintenance", MACHINE_TYPES, self.threshold.value)
            MODEL_ANOMALY_SCORE.labels(SERVICE)

    def score(self, window: WindowAggregate) -> MaintenanceDecision:
        started = time.perf_counter()
        self.advance(window.window_end)
        x = self.features.transform(window)
        anomaly_score = float(self.anomaly.score_one(x))
        self.anomaly.learn_one(x)
        self.scored += 1
        champion = self.models.champion
        score = champion.score(x)
        scores = {"champion": score}
        challenger_score = None
        if self.models.challenger is not None:
            challenger_score = self.models.challenger.score(x)
            scores["challenger"] = challenger_score
        supervised = self.positives_learned > 0
        threshold = self.threshold.value if supervised else self.settings.anomaly_threshold
        flagged = (score if supervised else anomaly_score) >= threshold
        if supervised:
            self.threshold.observe_score(score, window.window_end)
        top = champion.explainer.explain(x)
        champion.explainer.observe(x)
        machine_type = window.attributes.get("machine_type", "")
        prediction = Prediction(
            window.window_id,
            window.key,
            window.window_end,
            x,
            scores,
            flagged,
            machine_type,
            self.threshold.value,
        )
        evicted = self.join.add(prediction)
        if self.export:
            if evicted:
                MODEL_PENDING_EVICTED.labels(SERVICE).inc(len(evicted))
            MODEL_ANOMALY_SCORE.labels(SERVICE).observe(anomaly_score)
            for slot in self.models.slots:
                role_score = scores[slot.role]
                MODEL_SCORE.labels(SERVICE, slot.role).observe(role_score)
                decision = (
                    "alert" if (flagged if slot.role == "champion" else role_score >= threshold) else "pass"
                )
                MODEL_SCORES.labels(SERVICE, slot.role, decision).inc()
        decision_record = MaintenanceDecision(
            window,
            score,
            champion.probability(score) if supervised else 0.0,
            flagged,
            threshold,
            champion.name,
            champion.version,
            anomaly_score,
            decided_by="model" if supervised else "anomaly",
            challenger_score=challenger_score,
            challenger_name=self.models.challenger.name if self.models.challenger else "",
            challenger_version=self.models.challenger.version if self.models.challenger else 0,
            top_features=top,
            explanation_method=champion.explainer.method,
            examples_learned=champion.learned,
        )
        decision_record.alerts = self._alerts(decision_record, machine_type)
        if any(alert.status == "firing" for alert in decision_record.alerts):
            prediction.alert = decision_record.alerts[-1].severity
        decision_record.seconds = time.perf_counter() - started
        return decision_record

    def _alerts(self, decision: MaintenanceDecision, machine_type: str) -> list[Alert]:
        window = decision.window
        if not decision.decision:
            if not self.policy.is_firing("maintenance", window.key):
                return []
            # Hysteresis: one window just under the threshold does not close the incident, or a machine
            # hovering around it would fire and resolve on every other window.
            streak = self.clear_streak.get(window.key, 0) + 1
            if streak < self.settings.resolve_after_windows:
                self.clear_streak[window.key] = streak
                return []
            self.clear_streak.pop(window.key, None)
            resolved = self.policy.resolve(
                "maintenance",
                window.key,
                window.window_end,
                f"score {decision.score:.3f} back below {decision.threshold:.3f}",
            )
            if resolved is None:
                return []
            if self.export:
                ALERTS_EMITTED.labels(
                    SERVICE, "maintenance", resolved.severity, machine_type or "unknown"
                ).inc()
            return [resolved]
        self.clear_streak.pop(window.key, None)
        critical = decision.probability >= self.settings.threshold.critical_above
        features = ", ".join(f"{item.name}={item.contribution:+.2f}" for item in decision.top_features)
        evidence = (
            f"p={decision.probability:.3f}"
            if decision.decided_by == "model"
            else f"anomaly score {decision.anomaly_score:.3f} (no failure learned yet)"
        )
        candidate = Alert(
            alert_id=stable_alert_id("maintenance", window.key, window.window_id),
            kind="maintenance",
            entity_id=window.key,
            severity="critical" if critical else "warning",
            score=decision.score,
            threshold=decision.threshold,
            model_name=decision.model_name,
            model_version=decision.model_version,
            explanation=(
                f"failure within {self.settings.horizon_seconds / 3600:g} h: {evidence}"
                + (f"; {features}" if features else "")
            ),
            event_time=window.window_end,
            created_at=max(window.window_end, self._clock()),
            attributes={
                "window_id": window.window_id,
                "machine_type": machine_type,
                "anomaly_score": f"{decision.anomaly_score:.3f}",
                "probability": f"{decision.probability:.6f}",
                "decided_by": decision.decided_by,
            },
        )
        over_budget = self.gate.over_budget
        alert = self.gate.evaluate(candidate)
        if self.export and self.gate.over_budget > over_budget:
            ALERTS_SUPPRESSED.labels(SERVICE, "budget").inc()
        if alert is None:
            return []
        if self.export:
            ALERTS_EMITTED.labels(SERVICE, "maintenance", alert.severity, machine_type or "unknown").inc()
        return [alert]

    # Labels ------------------------------------------------------------------------------------------

    def _after_label(self, label: Label) -> None:
        # The machine was repaired: its trend starts again from the next window.
        self.features.reset(label.entity_id)

    def _after_resolution(self, resolution: Resolution) -> None:
        if resolution.label:
            self.positives_learned += 1

    def _features(self, prediction: Prediction) -> dict[str, float] | None:
        features = prediction.features
        assert isinstance(features, dict)  # maintenance keeps named features (they vary by window)
        return features

    def score_record(self, decision: MaintenanceDecision, now: float) -> Score:
        window = decision.window
        return Score(
            kind="maintenance",
            entity_id=window.key,
            event_id=window.window_id,
            event_time=window.window_end,
            score=decision.score,
            threshold=decision.threshold,
            decision=decision.decision,
            model_name=decision.model_name,
            model_version=decision.model_version,
            anomaly_score=decision.anomaly_score,
            top_features=decision.top_features,
            processing_latency_seconds=decision.seconds,
            event_to_score_latency_seconds=max(0.0, now - window.window_end),
            scored_at=now,
            attributes={
                **decision_attributes(decision),
                "machine_type": window.attributes.get("machine_type", ""),
                "decided_by": decision.decided_by,
            },
        )

    # Checkpoint --------------------------------------------------------------------------------------

    def _own_state(self) -> dict[str, Any]:
        return {
            "features": self.features,
            "anomaly": self.anomaly,
            "clear_streak": dict(self.clear_streak),
            "positives_learned": self.positives_learned,
        }

    def _restore_own(self, snapshot: dict[str, Any]) -> None:
        self.features = snapshot["features"]
        self.anomaly = snapshot["anomaly"]
        self.clear_streak = dict(snapshot["clear_streak"])
        self.positives_learned = snapshot["positives_learned"]
