"""What both scorers share: drift alerts, label-outcome counting and metric export.

A subclass sets `service` and provides `models`, `policy`, `threshold`, `join`, `export`, `drift_alerts`,
`label_outcomes` and `_clock`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consumers.alerting.suppression import AlertPolicy
from consumers.learning.champion import ChampionChallenger, ModelSlot
from consumers.learning.metrics import ALERTS_EMITTED, MODEL_LABELS, MODEL_PENDING, MODEL_THRESHOLD
from streaming.schemas import Alert, stable_alert_id


class ScorerBase:
    """Drift alerts through the alert policy, counted label outcomes, and gauges, for one service.

    >>> class Doc(ScorerBase):
    ...     service = "doc"
    >>> Doc.service
    'doc'
    """

    service: str = ""
    models: ChampionChallenger
    policy: AlertPolicy
    threshold: Any
    join: Any
    export: bool
    drift_alerts: list[Alert]
    label_outcomes: dict[str, int]
    _clock: Callable[[], float]

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
