"""The model factory: a River classifier from `ModelSettings`, and named strategies for evaluation.

Models:
- `logistic`: `StandardScaler | LogisticRegression` (SGD, learning rate from config);
- `additive`: `StandardScaler | BinnedLogisticRegression` (bins of each feature, cells of `pairs`);
- `hoeffding`: `tree.HoeffdingTreeClassifier`;
- `arf`: `forest.ARFClassifier(n_models=arf_models)`;
- `amf`: `forest.AMFClassifier(n_estimators=amf_trees)`, without aggregation (as good here, and faster);
- `blend`: `additive` and `amf` learning side by side, their log-odds averaged (`LogitBlend`); the forest
  sees only `forest_features` when they are set (a Mondrian forest's cost grows with the features).

Imbalance strategies (the positive class is rare):
- `none`;
- `under`: `imblearn.RandomUnderSampler` towards `desired_positive_share`;
- `over`: `imblearn.RandomOverSampler` towards the same share;
- `weight`: positives weigh `positive_weight`; for the logistic models through the loss, for trees and
  forests by learning a positive example `round(positive_weight)` times (ARF and AMF ignore `w`);
- `under+weight`: both.

The scaler comes first, outside any sampler: it learns from every labelled example, not only from those the
sampler keeps. Every random choice is seeded from `ModelSettings.seed` and lives in the model's state, so a
replay, or a restart from a checkpoint, gives the same model.

Sampling and weighting change the class prior the model learns, so a sampled model's scores are too high;
they still rank events correctly. Scores therefore stay raw (ranking is what ROC and PR AUC measure, and a
correction that moves as the model learns would reorder scores from different moments). Probabilities
come from `calibration.ScoreCalibrator`, which falls back on `correct_prior(score, prior_ratio(...))`
until it has seen enough labels.
"""

from __future__ import annotations

import re
from typing import Any

from river import base, compose, forest, imblearn, linear_model, optim, preprocessing, tree

from consumers.learning.additive import BinnedLogisticRegression
from consumers.learning.blend import LogitBlend
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
    "samplers",
    "strategy_settings",
]


@stable("learning.repeat-positives/1")
class RepeatPositives(base.Wrapper, base.Classifier):
    """Learns each positive example `repeat` times: a class weight for models that ignore `w`.

    Parameters
    ----------
    classifier
        The model that learns.
    repeat
        How many times it learns each positive.

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


def _weighted(settings: ModelSettings) -> bool:
    return settings.imbalance in ("weight", "under+weight")


def _sampled(classifier: base.Classifier, settings: ModelSettings) -> base.Classifier:
    """The classifier inside the sampler its imbalance strategy asks for (or as it is)."""
    share = settings.desired_positive_share
    distribution = {False: 1.0 - share, True: share}
    if settings.imbalance in ("under", "under+weight"):
        return imblearn.RandomUnderSampler(classifier, desired_dist=distribution, seed=settings.seed)
    if settings.imbalance == "over":
        return imblearn.RandomOverSampler(classifier, desired_dist=distribution, seed=settings.seed)
    return classifier


def _repeated(classifier: base.Classifier, settings: ModelSettings) -> base.Classifier:
    if _weighted(settings):
        return RepeatPositives(classifier, repeat=max(1, round(settings.positive_weight)))
    return classifier


def _additive(settings: ModelSettings) -> base.Classifier:
    classifier = BinnedLogisticRegression(
        bin_width=settings.bin_width,
        pairs=settings.pairs,
        alpha=settings.additive_learning_rate,
        positive_weight=settings.positive_weight if _weighted(settings) else 1.0,
    )
    pipeline: base.Classifier = preprocessing.StandardScaler() | _sampled(classifier, settings)  # type: ignore[assignment]
    return pipeline


def _amf(settings: ModelSettings) -> base.Classifier:
    classifier = forest.AMFClassifier(
        n_estimators=settings.amf_trees, use_aggregation=False, seed=settings.seed
    )
    return _sampled(_repeated(classifier, settings), settings)


def build_model(settings: ModelSettings) -> base.Classifier:
    """A fresh classifier for these settings.

    >>> model = build_model(ModelSettings(model="logistic", imbalance="under+weight"))
    >>> [type(step).__name__ for step in model.steps.values()]
    ['StandardScaler', 'RandomUnderSampler']
    >>> model.predict_proba_one({"amount": 10.0}).get(True, 0.0)
    0.5
    """
    if settings.model == "logistic":
        loss = optim.losses.Log(weight_pos=settings.positive_weight if _weighted(settings) else 1.0)
        regression = linear_model.LogisticRegression(optimizer=optim.SGD(settings.learning_rate), loss=loss)
        pipeline: base.Classifier = preprocessing.StandardScaler() | _sampled(regression, settings)  # type: ignore[assignment]
        return pipeline
    if settings.model == "additive":
        return _additive(settings)
    if settings.model == "amf":
        return _amf(settings)
    if settings.model == "blend":
        return LogitBlend(
            [_additive(settings), _amf(settings)], features=[None, settings.forest_features or None]
        )
    classifier: base.Classifier
    if settings.model == "hoeffding":
        classifier = tree.HoeffdingTreeClassifier(grace_period=100)
    else:
        classifier = forest.ARFClassifier(n_models=settings.arf_models, seed=settings.seed)
    return _sampled(_repeated(classifier, settings), settings)


def describe(settings: ModelSettings) -> str:
    """A short model name for score records and tables, e.g. `logistic+under`, `arf3+none`, `blend2+none`.

    >>> describe(ModelSettings(model="arf", arf_models=3, imbalance="under"))
    'arf3+under'
    """
    if settings.model == "arf":
        model = f"arf{settings.arf_models}"
    elif settings.model in ("amf", "blend"):
        model = f"{settings.model}{settings.amf_trees}"
    else:
        model = settings.model
    return f"{model}+{settings.imbalance}"


def predict_positive(model: base.Classifier, x: dict) -> float:
    """The probability of the positive class, 0 before the model knows any class."""
    # A tree that has seen only negatives returns {False: 1.0}; one that has seen nothing returns {}.
    value = float(model.predict_proba_one(x).get(True, 0.0))
    return min(1.0, max(0.0, value))


def learn(model: base.Classifier, x: dict, y: bool) -> None:
    model.learn_one(x, bool(y))


def samplers(model: Any) -> list[Any]:
    """The River samplers inside a model (in pipelines, wrappers and blends)."""
    found: list[Any] = []
    pending = [model]
    while pending:
        item = pending.pop()
        # River's pipelines answer isinstance() for their last step's type: test the exact type.
        if type(item) in (imblearn.RandomUnderSampler, imblearn.RandomOverSampler):
            found.append(item)
        if type(item) is compose.Pipeline:
            pending.extend(item.steps.values())
        elif isinstance(item, LogitBlend):
            pending.extend(item.members)
        elif hasattr(item, "classifier"):
            pending.append(item.classifier)
    return found


def positive_weight_of(settings: ModelSettings) -> float:
    """How much more one learned positive counts than one learned negative (1 without weighting)."""
    if not _weighted(settings):
        return 1.0
    if settings.model in ("logistic", "additive"):
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
    >>> sampler = samplers(model)[0]
    >>> sampler._actual_dist.update({True: 9, False: 9_999})
    >>> sampler._trained_on_dist.update({True: 9, False: 9})
    >>> round(prior_ratio(model, settings, 0, 0), 4)   # (10 / 10_000) / (10 / 10)
    0.001
    """
    learned_positives, learned_negatives = float(positives), float(negatives)
    found = samplers(model)
    if found:
        # River's samplers count what they were offered and what they passed on (0.26: private counters).
        offered, trained = found[0]._actual_dist, found[0]._trained_on_dist
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


#: Strategy names accepted by `streaming evaluate --strategies` (plus `arfN`, `amfN`, `blendN` and
#: `<model>+<imbalance>`).
STRATEGIES: dict[str, dict[str, Any]] = {
    "plain": {"model": "logistic", "imbalance": "none"},
    "weighted": {"model": "logistic", "imbalance": "weight"},
    "under": {"model": "logistic", "imbalance": "under"},
    "over": {"model": "logistic", "imbalance": "over"},
    "under+weight": {"model": "logistic", "imbalance": "under+weight"},
    "hoeffding": {"model": "hoeffding", "imbalance": "none"},
    "additive": {"model": "additive", "imbalance": "none"},
}

_FOREST = re.compile(r"^(arf|amf|blend)(\d+)?$")
_IMBALANCES = ("none", "under", "over", "weight", "under+weight")


def strategy_settings(name: str, defaults: ModelSettings | None = None) -> ModelSettings:
    """The `ModelSettings` of a strategy name: `plain`, `weighted`, `under`, `over`, `under+weight`,
    `hoeffding`, `additive`, `arf3`, `amf2`, `blend2`, or any `<model>+<imbalance>` such as `arf3+under`.

    A forest needs at least one tree:

    >>> describe(strategy_settings("arf3+under")), describe(strategy_settings("weighted"))
    ('arf3+under', 'logistic+weight')
    >>> strategy_settings("arf0")
    Traceback (most recent call last):
    ...
    ValueError: strategy 'arf0': a forest needs at least one tree
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
    forest_match = _FOREST.match(model_part)
    if forest_match:
        kind, trees = forest_match.group(1), forest_match.group(2)
        update["model"] = kind
        if trees is not None:
            if int(trees) < 1:
                raise ValueError(f"strategy {name!r}: a forest needs at least one tree")
            update["arf_models" if kind == "arf" else "amf_trees"] = int(trees)
    elif model_part in ("logistic", "additive", "hoeffding"):
        update["model"] = model_part
    else:
        known = ", ".join([*STRATEGIES, "arfN", "amfN", "blendN", "default", "<model>+<imbalance>"])
        raise ValueError(f"unknown strategy {name!r}; known: {known}")
    return base_settings.model_copy(update=update)
