"""Exact ranking metrics, shared by the online monitors and `streaming evaluate` so both report the same.

River's streaming ROC AUC approximates the curve with a few thresholds and reads low; these count every pair
(ties count half), and PR AUC is average precision, the step-wise area without interpolation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

__all__ = ["average_precision", "roc_auc"]


def roc_auc(labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Exact ROC AUC (ties count half); NaN when one class is missing.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y = np.asarray(labels, dtype=bool)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(labels: Sequence[bool] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """PR AUC as average precision (the step-wise area, no interpolation); NaN without positives.

    >>> average_precision([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.8333333333333333
    """
    y = np.asarray(labels, dtype=bool)
    if not y.any():
        return math.nan
    s = np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="stable")
    y_sorted, s_sorted = y[order], s[order]
    # Group tied scores: a threshold cannot separate them.
    last_of_group = np.r_[s_sorted[1:] != s_sorted[:-1], True]
    true_positives = np.cumsum(y_sorted)[last_of_group]
    alerted = (np.arange(len(y_sorted)) + 1)[last_of_group]
    precision = true_positives / alerted
    recall_gain = np.diff(np.r_[0, true_positives]) / y.sum()
    return float((precision * recall_gain).sum())
