"""What both scorers share: the delayed-label release, drift alerts, label-outcome counting, metric export.

A subclass sets `service` and `label_kind`, provides `models`, `policy`, `threshold`, `join`, `labels`,
`watermark`, `export`, `drift_alerts`, `label_outcomes`, `_clock` and `_learn`, and may override
`_after_label`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consumers.alerting.suppression import AlertPolicy
from consumers.learning.champion import ChampionChallenger, ModelSlot
from consumers.learning.labels import LabelBuffer, Resolution
from consumers.learning.metrics import ALERTS_EMITTED, MODEL_LABELS, MODEL_PENDING, MODEL_THRESHOLD
from contracts import Alert, Label, stable_alert_id


class ScorerBase:
    """Drift alerts through the alert policy, counted label outcomes, and gauges, for one service.

    >>> class Doc(ScorerBase):
    ...     service = "doc"
    >>> Doc.service
    'doc'
    """

    service: str = ""
    #: The label kind this scorer learns from; the other kind is counted and ignored.
    label_kind: str = ""
    models: ChampionChallenger
    policy: AlertPolicy
    threshold: Any
    join: Any
    export: bool
    drift_alerts: list[Alert]
    label_outcomes: dict[str, int]
    labels: LabelBuffer
    watermark: float
    _clock: Callable[[], float]

    def _learn(self, resolution: Resolution) -> None:
        raise NotImplementedError

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
