"""A blend of classifiers: the weighted mean of their log-odds.

Models with different biases fail on different examples: an additive model draws smooth boundaries along
each feature and through chosen pairs, a Mondrian forest cuts sharp boxes along the features with the widest
ranges. Averaging their log-odds keeps what each one ranks well, at the cost of running both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from river import base

from streaming.state.stable import stable

__all__ = ["LogitBlend"]

#: Probabilities are clipped this far from 0 and 1 before taking log-odds (a forest often says 0 or 1).
_EPSILON = 1e-6


@stable("learning.logit-blend/1")
class LogitBlend(base.Classifier):
    """Every member learns every example; the score is the weighted mean of their log-odds.

    Parameters
    ----------
    members
        The classifiers (River classifiers or pipelines), each used as it is.
    weights
        One weight per member (default: equal).
    features
        Per member, the feature names it sees (None: all); names absent from an example are skipped.

    >>> from river import forest, linear_model, preprocessing
    >>> blend = LogitBlend([preprocessing.StandardScaler() | linear_model.LogisticRegression(),
    ...                     forest.AMFClassifier(n_estimators=2, seed=1)])
    >>> for i in range(200):
    ...     blend.learn_one({"x": float(i % 10)}, i % 10 >= 8)
    >>> blend.predict_proba_one({"x": 9.0})[True] > 0.5 > blend.predict_proba_one({"x": 1.0})[True]
    True
    """

    def __init__(
        self,
        members: Sequence[base.Classifier],
        weights: Sequence[float] | None = None,
        features: Sequence[Sequence[str] | None] | None = None,
    ) -> None:
        self.members = list(members)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.members)
        self.features = [
            None if names is None else tuple(names) for names in features or [None] * len(self.members)
        ]
        if (
            len(self.weights) != len(self.members)
            or len(self.features) != len(self.members)
            or not self.members
        ):
            raise ValueError("a blend needs at least one member, and one weight and feature list per member")
        total = sum(self.weights)
        self._shares = [weight / total for weight in self.weights]

    def _inputs(self, x: dict) -> list[dict]:
        return [
            x if names is None else {name: x[name] for name in names if name in x} for names in self.features
        ]

    def learn_one(self, x: dict, y: Any, **kwargs: Any) -> None:
        for member, inputs in zip(self.members, self._inputs(x), strict=True):
            member.learn_one(inputs, y)

    def predict_proba_one(self, x: dict, **kwargs: Any) -> dict[Any, float]:
        log_odds = 0.0
        for member, share, inputs in zip(self.members, self._shares, self._inputs(x), strict=True):
            probability = member.predict_proba_one(inputs).get(True, 0.0)
            probability = min(1.0 - _EPSILON, max(_EPSILON, probability))
            log_odds += share * math.log(probability / (1.0 - probability))
        probability = 1.0 / (1.0 + math.exp(-log_odds))
        return {False: 1.0 - probability, True: probability}
