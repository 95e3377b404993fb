"""An additive logistic model on bins of standardised features, with 2-d cells for chosen feature pairs.

Failures and frauds live in the tails and corners of the feature space (power outside its band, a small
temperature difference at low speed, a large amount on a new device): a linear logistic regression sees one
slope per feature and misses them, and trees need thousands of examples before their first split. Here each
(standardised) feature is spread over bins of `bin_width` standard deviations, with linear interpolation
between bin centres, so the log-odds become a piecewise-linear function of every feature (a generalised
additive model); `pairs` adds a cell of a `pair_width` grid for each listed pair of features, which is where
interactions such as "hot *and* slow" show. Weights learn with FTRL-Proximal, whose per-weight step sizes
let a rarely visited tail bin move as fast as a busy central one.

River offers the scaler and the optimisers but no binned additive classifier, and composing one from River's
transformers costs several times more per event; this one is a single small pass over the features (numpy
costs more than it saves on a few dozen features). Put it after `preprocessing.StandardScaler`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from river import base

from streaming.state.stable import stable

__all__ = ["BinnedLogisticRegression"]


@stable("learning.binned-logistic/1")
class BinnedLogisticRegression(base.Classifier):
    """Logistic regression on interpolated bins of standardised features and on cells of feature pairs.

    Put it after `preprocessing.StandardScaler` (its bins are in standard deviations); a feature missing
    from an example, or at its mean, adds nothing.

    Parameters
    ----------
    bin_width
        Width of a bin, in standard deviations.
    clip
        Values beyond +-clip standard deviations fall into the outermost bins.
    pairs
        Pairs of feature names whose joint cell is a feature of its own.
    pair_width
        Width of a pair cell on each axis, in standard deviations.
    pair_clip
        Clip of the pair grid, in standard deviations.
    alpha, beta
        FTRL-Proximal's learning-rate parameters (per weight: alpha / (beta + sqrt(sum of squared
        gradients))).
    positive_weight
        How much a positive example weighs against a negative one.
    intercept_learning_rate
        The intercept learns by plain SGD at this rate: slowly, so early examples do not swing every score.

    >>> from river import preprocessing
    >>> model = preprocessing.StandardScaler() | BinnedLogisticRegression()
    >>> for i in range(2_000):
    ...     x = {"power": float(i % 20)}
    ...     model.learn_one(x, x["power"] >= 18)   # only the top tail fails
    >>> [round(model.predict_proba_one({"power": v})[True], 1) for v in (19.0, 10.0)]
    [0.8, 0.0]
    """

    def __init__(
        self,
        bin_width: float = 0.5,
        clip: float = 4.0,
        pairs: Sequence[tuple[str, str]] = (),
        pair_width: float = 0.5,
        pair_clip: float = 3.0,
        alpha: float = 0.3,
        beta: float = 1.0,
        positive_weight: float = 1.0,
        intercept_learning_rate: float = 0.01,
    ) -> None:
        self.bin_width = bin_width
        self.clip = clip
        self.pairs = tuple((str(first), str(second)) for first, second in pairs)
        self.pair_width = pair_width
        self.pair_clip = pair_clip
        self.alpha = alpha
        self.beta = beta
        self.positive_weight = positive_weight
        self.intercept_learning_rate = intercept_learning_rate
        #: Per feature key, (name, bin) or (first, second, bin, bin): [weight, FTRL z, sum of squared
        #: gradients].
        self._weights: dict[tuple, list[float]] = {}
        self._intercept = 0.0

    def _active(self, x: dict) -> list[tuple[tuple, float]]:
        """The active feature keys of `x` and their values."""
        active: list[tuple[tuple, float]] = []
        append = active.append
        width, clip, floor = self.bin_width, self.clip, math.floor
        for name, value in x.items():
            if value == 0.0 or value != value:
                # A standardised 0 is the mean, or a feature without variance yet: it carries nothing.
                continue
            z = -clip if value < -clip else (clip if value > clip else value)
            position = z / width
            lower = floor(position)
            upper_share = position - lower
            append(((name, lower), 1.0 - upper_share))
            if upper_share:
                append(((name, lower + 1), upper_share))
        if self.pairs:
            pair_width, pair_clip = self.pair_width, self.pair_clip
            get = x.get
            for first, second in self.pairs:
                a, b = get(first), get(second)
                if a is None or b is None or a != a or b != b:
                    continue
                a = -pair_clip if a < -pair_clip else (pair_clip if a > pair_clip else a)
                b = -pair_clip if b < -pair_clip else (pair_clip if b > pair_clip else b)
                append(((first, second, floor(a / pair_width), floor(b / pair_width)), 1.0))
        return active

    def _log_odds(self, active: list[tuple[tuple, float]]) -> float:
        get = self._weights.get
        total = self._intercept
        for key, value in active:
            entry = get(key)
            if entry is not None:
                total += entry[0] * value
        return total

    def predict_proba_one(self, x: dict, **kwargs: Any) -> dict[Any, float]:
        log_odds = self._log_odds(self._active(x))
        probability = 1.0 / (1.0 + math.exp(-max(-35.0, min(35.0, log_odds))))
        return {False: 1.0 - probability, True: probability}

    def learn_one(self, x: dict, y: Any, w: float = 1.0, **kwargs: Any) -> None:
        active = self._active(x)
        log_odds = self._log_odds(active)
        probability = 1.0 / (1.0 + math.exp(-max(-35.0, min(35.0, log_odds))))
        gradient = (probability - (1.0 if y else 0.0)) * w * (self.positive_weight if y else 1.0)
        if gradient == 0.0:
            return
        weights, alpha, beta = self._weights, self.alpha, self.beta
        sqrt = math.sqrt
        for key, value in active:
            step = gradient * value
            entry = weights.get(key)
            if entry is None:
                entry = weights[key] = [0.0, 0.0, 0.0]
            weight, accumulated, squares = entry
            updated = squares + step * step
            root = sqrt(updated)
            accumulated += step - (root - sqrt(squares)) / alpha * weight
            entry[0] = -accumulated * alpha / (beta + root)
            entry[1] = accumulated
            entry[2] = updated
        self._intercept -= self.intercept_learning_rate * gradient

    def contributions(self, x: dict) -> dict[str, float]:
        """Each feature's share of the log-odds of `x` (standardised), a pair's cell split between its two.

        >>> model = BinnedLogisticRegression(pairs=[("a", "b")])
        >>> for i in range(100):
        ...     model.learn_one({"a": i % 4 - 1.5, "b": i % 3 - 1.0}, i % 4 == 3)
        >>> parts = model.contributions({"a": 1.5, "b": 1.0})
        >>> sorted(parts), parts["a"] > 0.5 > abs(parts["b"])
        (['a', 'b'], True)
        """
        weights = self._weights
        shares: dict[str, float] = {}
        for key, value in self._active(x):
            entry = weights.get(key)
            if entry is None or entry[0] == 0.0:
                continue
            part = entry[0] * value
            if len(key) == 4:
                shares[key[0]] = shares.get(key[0], 0.0) + part / 2
                shares[key[1]] = shares.get(key[1], 0.0) + part / 2
            else:
                shares[key[0]] = shares.get(key[0], 0.0) + part
        return shares
