"""The model factory: a River classifier from `ModelSettings`, and named strategies for evaluation.

Models:
- `logistic`: `StandardScaler | LogisticRegression` (SGD, learning rate from config);
- `hoeffding`: `tree.HoeffdingTreeClassifier`;
- `arf`: `forest.ARFClassifier(n_models=arf_models)`.

Imbalance strategies (the positive class is rare):
- `none`;
- `under`: `imblearn.RandomUnderSampler` towards `desired_positive_share`;
- `over`: `imblearn.RandomOverSampler` towards the same share;
- `weight`: positives weigh `positive_weight`; for logistic regression through
  `optim.losses.Log(weight_pos=...)`, for trees and forests by learning a positive example
  `round(positive_weight)` times (ARF ignores `w`);
- `under+weight`: both.

Every random choice is seeded from `ModelSettings.seed`, so a replay gives the same model.

Sampling and weighting change the class prior the model learns: an undersampler towards 50/50 on a
0.2 % fraud stream teaches the model that fraud is 250 times more common than it is, so its raw scores
are far too high. `prior_ratio` measures that distortion from what the model actually learned and
`correct_prior` maps a raw score back to a probability on the real stream (prior correction, as for a
classifier trained on a case-control sample). Scores, thresholds and alerts use corrected values.
"""

from __future__ import annotations

import re
from typing import Any

from river import base, forest, imblearn, linear_model, optim, preprocessing, tree

from consumers.learning.settings import ModelSettings
from streaming.state.stable import stable

__all__ = [
    "STRATEGIES",
    "RepeatPositives",
    "build_model",
    "correct_prior",
    "describe",
    "learn",
    "predict_positive",
    "prior_ratio",
    "strategy_settings",
]


@stable("learning.repeat-positives/1")
class RepeatPositives(base.Wrapper, base.Classifier):
    """Learns each positive example `repeat` times: a class weight for models that ignore `w`.

    >>> from river import tree
    >>> model = RepeatPositives(tree.HoeffdingTreeClassifier(), repeat=3)
    >>> model.learn_one({"x": 1.0}, True)
    >>> model.predict_proba_one({"x": 1.0})[True]
    1.0
    """

    def __init__(self, classifier: base.Classifier, repeat: int = 5) -> None:
        self.classifier = classifier
        self.repeat = repeat

    @property
    def _wrapped_model(self) -> base.Classifier:
        return self.classifier

    def learn_one(self, x: dict, y: Any, **kwargs: Any) -> None:
        for _ in range(self.repeat if y else 1):
            self.classifier.learn_one(x, y, **kwargs)

    def predict_proba_one(self, x: dict, **kwargs: Any) -> dict:
        return self.classifier.predict_proba_one(x, **kwargs)


def _base_classifier(settings: ModelSettings) -> base.Classifier:
    weighted = settings.imbalance in ("weight", "under+weight")
    if settings.model == "logistic":
        loss = optim.losses.Log(weight_pos=settings.positive_weight if weighted else 1.0)
        regression = linear_model.LogisticRegression(optimizer=optim.SGD(settings.learning_rate), loss=loss)
        pipeline: base.Classifier = preprocessing.StandardScaler() | regression  # type: ignore[assignment]
        return pipeline
    classifier: base.Classifier
    if settings.model == "hoeffding":
        classifier = tree.HoeffdingTreeClassifier(grace_period=100)
    else:
        classifier = forest.ARFClassifier(n_models=settings.arf_models, seed=settings.seed)
    if weighted:
        classifier = RepeatPositives(classifier, repeat=max(1, round(settings.positive_weight)))
    return classifier


def build_model(settings: ModelSettings) -> base.Classifier:
    """A fresh classifier for these settings.

    >>> model = build_model(ModelSettings(model="logistic", imbalance="under+weight"))
    >>> type(model).__name__
    'RandomUnderSampler'
    >>> model.predict_proba_one({"amount": 10.0}).get(True, 0.0)
    0.5
    """
    classifier = _base_classifier(settings)
    share = settings.desired_positive_share
    distribution = {False: 1.0 - share, True: share}
    if settings.imbalance in ("under", "under+weight"):
        return imblearn.RandomUnderSampler(classifier, desired_dist=distribution, seed=settings.seed)
    if settings.imbalance == "over":
        return imblearn.RandomOverSampler(classifier, desired_dist=distribution, seed=settings.seed)
    return classifier


def describe(settings: ModelSettings) -> str:
    """A short model name for score records and tables, e.g. `logistic+under`, `arf3+none`.

    >>> describe(ModelSettings(model="arf", arf_models=3, imbalance="under"))
    'arf3+under'
    """
    model = f"arf{settings.arf_models}" if settings.model == "arf" else settings.model
    return f"{model}+{settings.imbalance}"


def predict_positive(model: base.Classifier, x: dict) -> float:
    """The probability of the positive class, 0 before the model knows any class."""
    # A tree that has seen only negatives returns {False: 1.0}; one that has seen nothing returns {}.
    value = float(model.predict_proba_one(x).get(True, 0.0))
    return min(1.0, max(0.0, value))


def learn(model: base.Classifier, x: dict, y: bool) -> None:
    model.learn_one(x, bool(y))


def positive_weight_of(settings: ModelSettings) -> float:
    """How much more one learned positive counts than one learned negative (1 without weighting)."""
    if settings.imbalance not in ("weight", "under+weight"):
        return 1.0
    if settings.model == "logistic":
        return settings.positive_weight
    return float(max(1, round(settings.positive_weight)))


def prior_ratio(model: base.Classifier, settings: ModelSettings, positives: int, negatives: int) -> float:
    """Real odds of the positive class divided by the odds the model learned, from the examples it was given.

    `positives`/`negatives` count the labelled examples offered to the model; a sampler's own counts of
    what it was offered and what it passed on take precedence. Weights multiply the learned positives.
    Add-one smoothing keeps the ratio finite before both classes were seen (then it is the weight's
    correction only).

    >>> settings = ModelSettings(model="logistic", imbalance="under")
    >>> model = build_model(settings)
    >>> model._actual_dist.update({True: 9, False: 9_999}); model._trained_on_dist.update({True: 9, False: 9})
    >>> round(prior_ratio(model, settings, 0, 0), 4)   # (10 / 10_000) / (10 / 10)
    0.001
    """
    learned_positives, learned_negatives = float(positives), float(negatives)
    trained = getattr(model, "_trained_on_dist", None)
    offered = getattr(model, "_actual_dist", None)
    if trained is not None and offered is not None:
        # River's samplers count what they were offered and what they passed on (0.26: private counters).
        positives, negatives = offered[True], offered[False]
        learned_positives, learned_negatives = float(trained[True]), float(trained[False])
    learned_positives *= positive_weight_of(settings)
    real_odds = (positives + 1.0) / (negatives + 1.0)
    learned_odds = (learned_positives + 1.0) / (learned_negatives + 1.0)
    return real_odds / learned_odds


def correct_prior(score: float, ratio: float) -> float:
    """The score with its odds multiplied by `ratio`: p * r / (p * r + 1 - p).

    >>> round(correct_prior(0.9, 0.002), 4), correct_prior(0.5, 1.0), correct_prior(1.0, 0.01)
    (0.0177, 0.5, 1.0)
    """
    if ratio == 1.0 or score <= 0.0 or score >= 1.0:
        return score
    scaled = score * ratio
    return scaled / (scaled + 1.0 - score)


#: Strategy names accepted by `streaming evaluate --strategies` (plus `arfN`, `arfN+under`, `hoeffding+...`).
STRATEGIES: dict[str, dict[str, Any]] = {
    "plain": {"model": "logistic", "imbalance": "none"},
    "weighted": {"model": "logistic", "imbalance": "weight"},
    "under": {"model": "logistic", "imbalance": "under"},
    "over": {"model": "logistic", "imbalance": "over"},
    "under+weight": {"model": "logistic", "imbalance": "under+weight"},
    "hoeffding": {"model": "hoeffding", "imbalance": "none"},
}

_ARF = re.compile(r"^arf(\d+)$")
_IMBALANCES = ("none", "under", "over", "weight", "under+weight")


def strategy_settings(name: str, defaults: ModelSettings | None = None) -> ModelSettings:
    """The `ModelSettings` of a strategy name: `plain`, `weighted`, `under`, `over`, `under+weight`,
    `hoeffding`, `arf3`, or any `<model>+<imbalance>` such as `arf3+under` or `hoeffding+over`.

    >>> describe(strategy_settings("arf3+under"))
    'arf3+under'
    >>> describe(strategy_settings("weighted"))
    'logistic+weight'
    """
    base_settings = defaults or ModelSettings()
    key = name.strip().lower()
    if key in STRATEGIES:
        return base_settings.model_copy(update=STRATEGIES[key])
    model_part, _, imbalance = key.partition("+")
    imbalance = imbalance or "none"
    if imbalance not in _IMBALANCES:
        raise ValueError(
            f"unknown imbalance {imbalance!r} in strategy {name!r}; one of {', '.join(_IMBALANCES)}"
        )
    update: dict[str, Any] = {"imbalance": imbalance}
    arf = _ARF.match(model_part)
    if arf:
        update.update(model="arf", arf_models=int(arf.group(1)))
    elif model_part in ("logistic", "hoeffding", "arf"):
        update["model"] = model_part
    else:
        known = ", ".join([*STRATEGIES, "arfN", "<model>+<imbalance>"])
        raise ValueError(f"unknown strategy {name!r}; known: {known}")
    return base_settings.model_copy(update=update)
