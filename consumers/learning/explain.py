"""The top contributing features of a score.

- `linear`: for `StandardScaler | LogisticRegression` (the regression inside any sampler), the contribution
  of a feature is its weight times its scaled value: exactly its share of the log-odds.
- `additive`: for `StandardScaler | BinnedLogisticRegression` (alone or as a blend's member), the weights of
  the feature's bins and half of its pair cells: again its share of the (member's) log-odds.
- `deviation`: trees and forests have no additive decomposition cheap enough for the scoring path, so the
  features are ranked by how far they are from their running mean, in standard deviations. This says what
  is unusual about the event, not what the model used; score records name the method.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from river import compose, linear_model, preprocessing

from consumers.learning.additive import BinnedLogisticRegression
from consumers.learning.blend import LogitBlend
from contracts import FeatureContribution
from streaming.state.stable import stable

__all__ = ["Explainer", "linear_parts"]

Method = Literal["linear", "additive", "deviation"]


def _inner(step: Any) -> Any:
    """A step with its samplers and wrappers taken off."""
    for _ in range(4):
        inner = getattr(step, "classifier", None)
        if inner is None:
            return step
        step = inner
    return step


def linear_parts(model: Any) -> tuple[preprocessing.StandardScaler, Any] | None:
    """The scaler and the (logistic or additive) regression of a model, or None.

    The regression may sit inside samplers after the scaler, and the model may be a blend: then its first
    member with such a pair is used.
    """
    if type(model) is LogitBlend:
        for member in model.members:
            parts = linear_parts(member)
            if parts is not None:
                return parts
        return None
    if type(model) is not compose.Pipeline:
        return None
    steps = list(model.steps.values())
    if len(steps) != 2 or not isinstance(steps[0], preprocessing.StandardScaler):
        return None
    regression = _inner(steps[1])
    if isinstance(regression, linear_model.LogisticRegression | BinnedLogisticRegression):
        return steps[0], regression
    return None


@stable("learning.explainer/1")
class Explainer:
    """Top-k feature contributions for one model.

    >>> from consumers.learning.models import build_model
    >>> from consumers.learning.settings import ModelSettings
    >>> model = build_model(ModelSettings(model="logistic", imbalance="none"))
    >>> for i in range(200):
    ...     model.learn_one({"amount": float(i % 10), "noise": 1.0}, i % 10 >= 8)
    >>> explainer = Explainer(model, top_k=1)
    >>> explainer.method, [item.name for item in explainer.explain({"amount": 9.0, "noise": 1.0})]
    ('linear', ['amount'])
    """

    def __init__(self, model: Any, top_k: int = 3) -> None:
        self.top_k = top_k
        parts = linear_parts(model)
        self.method: Method = (
            "deviation"
            if parts is None
            else "additive"
            if isinstance(parts[1], BinnedLogisticRegression)
            else "linear"
        )
        self._model = model
        self._count = 0
        self._means: dict[str, float] = {}
        self._squares: dict[str, float] = {}

    def observe(self, x: dict[str, float]) -> None:
        """Track feature means (the deviation method needs them; the linear one ignores this)."""
        if self.method != "deviation":
            return
        self._count += 1
        count = self._count
        means, squares = self._means, self._squares
        for name, value in x.items():
            mean = means.get(name, 0.0)
            delta = value - mean
            mean += delta / count
            means[name] = mean
            squares[name] = squares.get(name, 0.0) + delta * (value - mean)

    def explain(self, x: dict[str, float]) -> list[FeatureContribution]:
        if self.top_k <= 0:
            return []
        contributions = self._deviation(x) if self.method == "deviation" else self._linear(x)
        ranked = sorted(contributions.items(), key=lambda item: (-abs(item[1]), item[0]))[: self.top_k]
        return [FeatureContribution(name, round(value, 6)) for name, value in ranked if value != 0.0]

    def _linear(self, x: dict[str, float]) -> dict[str, float]:
        parts = linear_parts(self._model)
        assert parts is not None
        scaler, regression = parts
        if isinstance(regression, BinnedLogisticRegression):
            return regression.contributions(scaler.transform_one(x))
        weights, means, variances = regression.weights, scaler.means, scaler.vars
        result = {}
        for name, value in x.items():
            weight = weights.get(name, 0.0)
            variance = variances.get(name, 0.0)
            if weight and variance > 0:
                result[name] = weight * (value - means.get(name, 0.0)) / math.sqrt(variance)
        return result

    def _deviation(self, x: dict[str, float]) -> dict[str, float]:
        if self._count < 2:
            return {}
        result = {}
        for name, value in x.items():
            variance = self._squares.get(name, 0.0) / (self._count - 1)
            if variance > 0:
                result[name] = (value - self._means.get(name, 0.0)) / math.sqrt(variance)
        return result
