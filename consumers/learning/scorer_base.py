"""What every online scorer shares: the models, threshold and alert budget it is built with, the delayed-
label release, drift alerts, label-outcome counting, metric export, and its checkpoint.

A subclass sets `service` and `label_kind`, builds its own parts in `__init__` after calling
`super().__init__`, implements `score`, `score_record` and `_features`, lists its own state in `_own_state` /
`_restore_own`, and may override `_after_label`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from consumers.alerting.suppression import AlertPolicy
from consumers.learning.alert_gate import AlertGate
from consumers.learning.champion import ChampionChallenger, ModelSlot
from consumers.learning.labels import LabelBuffer, Prediction, Resolution
from consumers.learning.metrics import (
    ALERT_OUTCOMES,
    ALERTS_EMITTED,
    MODEL_LABEL_DELAY,
    MODEL_LABELS,
    MODEL_PENDING,
    MODEL_THRESHOLD,
)
from consumers.learning.settings import ScorerSettings
from consumers.learning.thresholds import AlertBudget, build_threshold
from contracts import Alert, Label, Score, stable_alert_id

#: Bumped when the checkpointed state of the scorers changes shape (3: raw scores with a calibrator, new
#: features and models).
SNAPSHOT_VERSION = 3


def decision_attributes(decision: Any) -> dict[str, str]:
    """What every score record carries about the models: the calibrated probability, examples learned,
    explanation method, shadow score."""
    attributes = {
        "probability": f"{decision.probability:.6f}",
        "examples_learned": str(decision.examples_learned),
    }
    if decision.explanation_method:
        attributes["explanation_method"] = decision.explanation_method
    if decision.challenger_score is not None:
        attributes["challenger_score"] = f"{decision.challenger_score:.6f}"
    return attributes


class ScorerBase:
    """The parts and bookkeeping both scorers share.

    Parameters
    ----------
    settings
        The scorer's section (`[fraud]`, `[maintenance]`).
    export
        Export Prometheus metrics (off in evaluation and tests).
    clock
        Wall clock, only for alerts' `created_at`.
    alert_cooldown
        Per entity and kind, in event time.

    >>> class Doc(ScorerBase):
    ...     service = "doc"
    >>> scorer = Doc(ScorerSettings(), export=False)
    >>> scorer.models.champion.name, scorer.watermark
    ('logistic+weight', 0.0)
    """

    service: str = ""
    #: The label kind this scorer learns from; the other kinds are counted and ignored.
    label_kind: str = ""
    join: Any

    def __init__(
        self,
        settings: ScorerSettings,
        export: bool = True,
        clock: Callable[[], float] = time.time,
        alert_cooldown: float = 600.0,
    ) -> None:
        self.settings = settings
        self.export = export
        self._clock = clock
        self.models = ChampionChallenger(
            self.service,
            settings.champion,
            settings.challenger,
            monitor_window=settings.monitor_window,
            top_features=settings.top_features,
            drift_grace=settings.drift_grace,
            export=export,
        )
        self.threshold = build_threshold(settings.threshold)
        self.budget = AlertBudget(settings.threshold.alerts_per_hour)
        self.labels = LabelBuffer(settings.label_buffer_limit)
        self.policy = AlertPolicy(cooldown_seconds=alert_cooldown, clock=clock)
        self.gate = AlertGate(self.policy, self.budget)
        self.watermark = 0.0
        self.label_outcomes: dict[str, int] = {}
        #: Alerts whose label is known, by "<severity>/<true|false>".
        self.alert_outcomes: dict[str, int] = {}
        self.scored = 0
        self.drift_alerts: list[Alert] = []

    def score(self, event: Any) -> Any:
        raise NotImplementedError

    def score_record(self, decision: Any, now: float) -> Score:
        """The `scores` record of a decision; `now` is the wall clock when it is produced."""
        raise NotImplementedError

    def _learn(self, resolution: Resolution) -> None:
        """Count the resolution, then learn from it (`_features` gives the prediction's features, or
        None for a prediction no model made, e.g. a rule's: it still counts in the monitors)."""
        prediction = resolution.prediction
        label = resolution.label
        self._count(resolution.outcome)
        if resolution.outcome == "joined" and self.export:
            MODEL_LABEL_DELAY.labels(self.service).observe(resolution.delay_seconds)
        if prediction.alert:
            outcome = "true" if label else "false"
            key = f"{prediction.alert}/{outcome}"
            self.alert_outcomes[key] = self.alert_outcomes.get(key, 0) + 1
            if self.export:
                ALERT_OUTCOMES.labels(self.service, prediction.alert, outcome).inc()
        self._after_resolution(resolution)
        features = self._features(prediction)
        if features is None:
            rule_score = prediction.scores.get("rule")
            if rule_score is not None:
                for slot in self.models.slots:
                    slot.monitor.update(label, rule_score, prediction.decision)
            return
        self.threshold.observe_label(prediction.scores["champion"], label)
        for slot in self.models.slots:
            score = prediction.scores.get(slot.role)
            if score is not None and slot.monitor.update(label, score, score >= prediction.threshold):
                self._drift(slot, prediction.event_time)
            slot.learn(features, label, score)

    def _features(self, prediction: Prediction) -> dict[str, float] | None:
        """The named features a prediction was made from."""
        raise NotImplementedError

    def _after_resolution(self, resolution: Resolution) -> None:
        """What a subclass counts about a resolution before learning from it (nothing by default)."""

    # Labels ------------------------------------------------------------------------------------------

    def on_label(self, label: Label) -> None:
        """A label from the labels topic; it waits until the input's event time reaches its reported time."""
        if label.kind != self.label_kind:
            self._count("other_kind")
            return
        if label.reported_time <= self.watermark:
            self._apply(label)
        else:
            self.labels.push(label)
            for due in self.labels.due(self.watermark):
                self._apply(due)

    def advance(self, event_time: float) -> None:
        """Move the input's event time: apply labels now due, and learn expired predictions as negatives."""
        if event_time <= self.watermark:
            return
        self.watermark = event_time
        for label in self.labels.due(event_time):
            self._apply(label)
        for resolution in self.join.advance(event_time):
            self._learn(resolution)

    def _apply(self, label: Label) -> None:
        resolutions = self.join.label(label)
        if not resolutions:
            self._count("unknown_id")
        for resolution in resolutions:
            self._learn(resolution)
        self._after_label(label)

    def _after_label(self, label: Label) -> None:
        """What a subclass does once a label has been joined (nothing by default)."""

    # Drift and metrics -------------------------------------------------------------------------------

    def _drift(self, slot: ModelSlot, event_time: float) -> None:
        entity = f"{self.service}-{slot.role}"
        candidate = Alert(
            alert_id=stable_alert_id("drift", entity, f"{slot.name}:{slot.version}:{slot.monitor.drifts}"),
            kind="drift",
            entity_id=entity,
            severity="warning",
            model_name=slot.name,
            model_version=slot.version,
            explanation=(
                f"ADWIN detected a change in the {slot.role}'s error stream after "
                f"{slot.monitor.labelled} labels (rolling ROC AUC {slot.monitor.roc_auc():.3f})"
            ),
            event_time=event_time,
            created_at=max(event_time, self._clock()),
            attributes={"service": self.service, "role": slot.role},
        )
        alert = self.policy.evaluate(candidate)
        if alert is not None:
            self.drift_alerts.append(alert)
            if self.export:
                ALERTS_EMITTED.labels(self.service, "drift", alert.severity, slot.role).inc()

    def take_drift_alerts(self) -> list[Alert]:
        alerts, self.drift_alerts = self.drift_alerts, []
        return alerts

    def _count(self, outcome: str) -> None:
        self.label_outcomes[outcome] = self.label_outcomes.get(outcome, 0) + 1
        if self.export:
            MODEL_LABELS.labels(self.service, outcome).inc()

    def export_metrics(self) -> None:
        if not self.export:
            return
        self.models.export()
        MODEL_THRESHOLD.labels(self.service).set(self.threshold.value)
        MODEL_PENDING.labels(self.service).set(len(self.join))

    # Checkpoint --------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole scorer, for the service's checkpoint (see `streaming.state.stable`)."""
        return {
            "version": SNAPSHOT_VERSION,
            "models": self.models,
            "threshold": self.threshold,
            "budget": self.budget,
            "join": self.join,
            "labels": self.labels,
            "policy": self.policy.snapshot(),
            "watermark": self.watermark,
            "label_outcomes": dict(self.label_outcomes),
            "alert_outcomes": dict(self.alert_outcomes),
            "scored": self.scored,
            **self._own_state(),
        }

    def restore(self, snapshot: dict[str, Any]) -> list[str]:
        """Restore a snapshot, then apply the configured models (promotion by config). Returns the changes."""
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unknown {self.service} snapshot version {snapshot.get('version')!r}")
        self.models = snapshot["models"]
        self.threshold = snapshot["threshold"]
        self.budget = snapshot["budget"]
        self.gate = AlertGate(self.policy, self.budget)
        self.join = snapshot["join"]
        self.labels = snapshot["labels"]
        self.policy.restore(snapshot["policy"])
        self.watermark = snapshot["watermark"]
        self.label_outcomes = dict(snapshot["label_outcomes"])
        self.alert_outcomes = dict(snapshot["alert_outcomes"])
        self.scored = snapshot["scored"]
        self._restore_own(snapshot)
        return self.models.reconcile(self.settings.champion, self.settings.challenger)

    def _own_state(self) -> dict[str, Any]:
        """The subclass's own parts, merged into the snapshot."""
        return {}

    def _restore_own(self, snapshot: dict[str, Any]) -> None:
        """Take the subclass's own parts back from a snapshot."""
