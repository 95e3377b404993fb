"""Online model quality from labelled events only: rolling ROC AUC and PR AUC, precision/recall/F1 at the
alert threshold, and drift detection (ADWIN) on the stream of absolute errors.
"""

from __future__ import annotations

from collections import deque

from river import drift, metrics

from consumers.learning.metrics import (
    MODEL_DRIFT_DETECTED,
    MODEL_F1,
    MODEL_PR_AUC,
    MODEL_PRECISION,
    MODEL_RECALL,
    MODEL_ROC_AUC,
)
from streaming.state.stable import stable

__all__ = ["OnlineMonitor"]


@stable("learning.online-monitor/1")
class OnlineMonitor:
    """Rolling quality of one model role over its last `window_size` labelled predictions.

    `update` returns True when ADWIN detects a rise of at least `drift_min_increase` in
    the mean absolute error of either class. Drift checks start after
    `drift_grace` labels, so the early learning curve is not mistaken for drift.

    >>> monitor = OnlineMonitor("doc", "champion", window_size=100, export=False)
    >>> for i in range(100):
    ...     _ = monitor.update(label=i % 10 == 0, score=0.9 if i % 10 == 0 else 0.1, decision=i % 10 == 0)
    >>> monitor.roc_auc(), monitor.precision(), monitor.recall(), monitor.f1()
    (1.0, 1.0, 1.0, 1.0)
    """

    def __init__(
        self,
        service: str,
        role: str,
        window_size: int = 1_000,
        drift_delta: float = 0.002,
        drift_grace: int = 500,
        drift_min_increase: float = 0.1,
        export: bool = True,
    ) -> None:
        self.service = service
        self.role = role
        self.window_size = window_size
        self.drift_delta = drift_delta
        self.drift_grace = drift_grace
        self.drift_min_increase = drift_min_increase
        self.export_enabled = export
        self.roc = metrics.RollingROCAUC(window_size=window_size)
        self.pr = metrics.RollingPRAUC(window_size=window_size)
        self.outcomes: deque[tuple[bool, bool]] = deque()
        self.true_positives = 0
        self.false_positives = 0
        self.false_negatives = 0
        # One detector per class: positives are rare, so on a single error stream a model that stops
        # catching fraud barely moves the mean. Each class's error moving up is a drift.
        self.detectors = {True: drift.ADWIN(delta=drift_delta), False: drift.ADWIN(delta=drift_delta)}
        self.labelled = 0
        self.drifts = 0

    def update(self, label: bool, score: float, decision: bool) -> bool:
        label, decision = bool(label), bool(decision)
        self.labelled += 1
        self.roc.update(label, score)
        self.pr.update(label, score)
        self._count(label, decision, +1)
        self.outcomes.append((label, decision))
        if len(self.outcomes) > self.window_size:
            old_label, old_decision = self.outcomes.popleft()
            self._count(old_label, old_decision, -1)
        detector = self.detectors[label]
        before = detector.estimation
        detector.update(abs(float(label) - score))
        # ADWIN also fires when the error falls (the model got better); only a rise is worth an alert.
        worse = detector.estimation - before >= self.drift_min_increase
        if detector.drift_detected and worse and self.labelled > self.drift_grace:
            self.drifts += 1
            if self.export_enabled:
                MODEL_DRIFT_DETECTED.labels(self.service, self.role).inc()
            return True
        return False

    def _count(self, label: bool, decision: bool, step: int) -> None:
        if decision and label:
            self.true_positives += step
        elif decision:
            self.false_positives += step
        elif label:
            self.false_negatives += step

    def roc_auc(self) -> float:
        return float(self.roc.get())

    def pr_auc(self) -> float:
        return float(self.pr.get())

    def precision(self) -> float:
        alerted = self.true_positives + self.false_positives
        return self.true_positives / alerted if alerted else 0.0

    def recall(self) -> float:
        positives = self.true_positives + self.false_negatives
        return self.true_positives / positives if positives else 0.0

    def f1(self) -> float:
        precision, recall = self.precision(), self.recall()
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "roc_auc": self.roc_auc(),
            "pr_auc": self.pr_auc(),
            "precision": self.precision(),
            "recall": self.recall(),
            "f1": self.f1(),
            "labelled": float(self.labelled),
            "drifts": float(self.drifts),
        }

    def export(self) -> None:
        """Set the gauges. Computing the AUCs costs about 1 ms, so call this from a timer, not per event."""
        if not self.export_enabled or not self.labelled:
            return
        labels = (self.service, self.role)
        MODEL_ROC_AUC.labels(*labels).set(self.roc_auc())
        MODEL_PR_AUC.labels(*labels).set(self.pr_auc())
        MODEL_PRECISION.labels(*labels).set(self.precision())
        MODEL_RECALL.labels(*labels).set(self.recall())
        MODEL_F1.labels(*labels).set(self.f1())
