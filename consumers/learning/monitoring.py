"""Online model quality from labelled events only: ROC AUC and PR AUC over recent labels (computed exactly,
as `streaming evaluate` does), precision/recall/F1 at the alert threshold, and drift detection (ADWIN) on
the stream of absolute errors.

A metric is not known until there are enough labels of both classes: then it is NaN ("no value yet" on a
dashboard), never a made-up 0. Positives are rare, so the window of recent labels stretches back until it
holds `min_positives` of them (up to `max_window` labels).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from river import drift

from consumers.learning.metrics import (
    MODEL_DRIFT_DETECTED,
    MODEL_F1,
    MODEL_PR_AUC,
    MODEL_PRECISION,
    MODEL_RECALL,
    MODEL_ROC_AUC,
)
from consumers.learning.ranking import average_precision, roc_auc
from streaming.state.stable import stable

__all__ = ["OnlineMonitor"]


@stable("learning.online-monitor/2")
class OnlineMonitor:
    """Quality of one model role over its recent labelled predictions.

    Parameters
    ----------
    service, role
        Metrics labels.
    window_size
        Labels in the window (at least; see `min_positives`).
    min_positives
        Positives, and negatives, a metric needs; the window stretches back to hold them.
    max_window
        Labels kept at most (how far the window can stretch).
    drift_delta
        ADWIN's confidence.
    drift_grace
        Labels before drift detection starts, so the early learning curve is not mistaken for drift.
    drift_min_increase
        A drift counts only when a class's mean absolute error rose by at least this.
    export
        Set the Prometheus gauges in `export()`.

    >>> monitor = OnlineMonitor("doc", "champion", window_size=100, export=False)
    >>> monitor.roc_auc()
    nan
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
        min_positives: int = 10,
        max_window: int = 50_000,
        drift_delta: float = 0.002,
        drift_grace: int = 500,
        drift_min_increase: float = 0.1,
        export: bool = True,
    ) -> None:
        self.service = service
        self.role = role
        self.window_size = window_size
        self.min_positives = min_positives
        self.drift_delta = drift_delta
        self.drift_grace = drift_grace
        self.drift_min_increase = drift_min_increase
        self.export_enabled = export
        self.history: deque[tuple[bool, float, bool]] = deque(maxlen=max(window_size, max_window))
        # One detector per class: positives are rare, so on a single error stream a model that stops
        # catching fraud barely moves the mean. Each class's error moving up is a drift.
        self.detectors = {True: drift.ADWIN(delta=drift_delta), False: drift.ADWIN(delta=drift_delta)}
        self.labelled = 0
        self.drifts = 0

    def update(self, label: bool, score: float, decision: bool) -> bool:
        """One labelled prediction; True when it completes a drift."""
        label, decision = bool(label), bool(decision)
        self.labelled += 1
        self.history.append((label, float(score), decision))
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

    def window(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels, scores and decisions of the current window (oldest first)."""
        history = self.history
        size = min(len(history), self.window_size)
        if size < len(history):
            labels = [entry[0] for entry in history]
            positives = sum(labels[-size:]) if size else 0
            negatives = size - positives
            # Stretch back over the older labels until both classes are represented well enough.
            index = len(history) - size - 1
            while index >= 0 and min(positives, negatives) < self.min_positives:
                if labels[index]:
                    positives += 1
                else:
                    negatives += 1
                index -= 1
            size = len(history) - index - 1
        recent = list(history)[len(history) - size :]
        labels_array = np.fromiter((entry[0] for entry in recent), dtype=bool, count=size)
        scores = np.fromiter((entry[1] for entry in recent), dtype=float, count=size)
        decisions = np.fromiter((entry[2] for entry in recent), dtype=bool, count=size)
        return labels_array, scores, decisions

    def _known(self, labels: np.ndarray) -> bool:
        positives = int(labels.sum())
        return positives >= self.min_positives and len(labels) - positives >= self.min_positives

    def summary(self) -> dict[str, float]:
        """Every metric of the current window (NaN while not known), plus the label and drift counts."""
        labels, scores, decisions = self.window()
        nan = math.nan
        roc = pr = precision = recall = f1 = nan
        if self._known(labels):
            roc, pr = roc_auc(labels, scores), average_precision(labels, scores)
            hits, alerted = int((labels & decisions).sum()), int(decisions.sum())
            recall = hits / int(labels.sum())
            if alerted:
                precision = hits / alerted
                f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "roc_auc": roc,
            "pr_auc": pr,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "labelled": float(self.labelled),
            "drifts": float(self.drifts),
        }

    def roc_auc(self) -> float:
        return self.summary()["roc_auc"]

    def pr_auc(self) -> float:
        return self.summary()["pr_auc"]

    def precision(self) -> float:
        return self.summary()["precision"]

    def recall(self) -> float:
        return self.summary()["recall"]

    def f1(self) -> float:
        return self.summary()["f1"]

    def export(self) -> None:
        """Set the gauges (NaN while a metric is not known). Call it from a timer, not per event."""
        if not self.export_enabled:
            return
        labels = (self.service, self.role)
        summary = self.summary()
        MODEL_ROC_AUC.labels(*labels).set(summary["roc_auc"])
        MODEL_PR_AUC.labels(*labels).set(summary["pr_auc"])
        MODEL_PRECISION.labels(*labels).set(summary["precision"])
        MODEL_RECALL.labels(*labels).set(summary["recall"])
        MODEL_F1.labels(*labels).set(summary["f1"])
