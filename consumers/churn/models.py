"""Churn models: scikit-learn trees, forests and logistic regressions, and River's incremental trees.

A model is named `<kind>+<sampling>`:

- kinds: `recency` (a logistic regression on recency alone: the baseline to beat), `logistic_rfm`
  (logistic regression on recency, frequency and monetary value), `decision_tree` (depth-limited),
  `random_forest` (small), and the incremental `hoeffding_tree` and `arf` (River);
- sampling: `none`, `oversample` (churners duplicated in the training rows; River's `RandomOverSampler`
  for the incremental kinds) or `class_weight` (balanced class weights; per-row weights in River).

Oversampling and class weights shift the predicted probabilities up; `predict_proba` undoes the shift
(a prior correction of the odds), so probabilities stay comparable with the true churn rate and the
expected lost value means what it says.

Batch models retrain on all their training rows; incremental models `learn` only the rows labelled since
their last update. Both report the CPU seconds of their last fit or update (`last_fit_cpu_seconds`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from consumers.churn.features import FEATURE_COLUMNS as FEATURE_COLUMNS
from consumers.churn.model_spec import INCREMENTAL_KINDS as INCREMENTAL_KINDS
from consumers.churn.model_spec import MODEL_KINDS as MODEL_KINDS
from consumers.churn.model_spec import SAMPLINGS as SAMPLINGS
from consumers.churn.model_spec import ModelKind as ModelKind
from consumers.churn.model_spec import ModelSpec
from consumers.churn.model_spec import Sampling as Sampling
from consumers.churn.sampling import TrainingRows, oversample


@dataclass
class _Explainer:
    """Training-population statistics for the top reasons of a score."""

    medians: np.ndarray
    scales: np.ndarray
    directions: np.ndarray
    weights: np.ndarray

    @classmethod
    def fit(cls, frame: pd.DataFrame, labels: pd.Series, importances: np.ndarray) -> _Explainer:
        values = frame.to_numpy(dtype="float64")
        medians = np.median(values, axis=0)
        q75, q25 = np.percentile(values, [75, 25], axis=0)
        scales = np.where(q75 - q25 > 0, q75 - q25, np.maximum(values.std(axis=0), 1e-9))
        target = labels.to_numpy(dtype="float64")
        directions = np.zeros(values.shape[1])
        if target.std() > 0:
            centred = values - values.mean(axis=0)
            directions = np.sign(centred.T @ (target - target.mean()))
        return cls(medians, scales, directions, importances)

    def reasons(self, frame: pd.DataFrame, names: tuple[str, ...], top: int) -> list[list[str]]:
        values = frame.to_numpy(dtype="float64")
        push = (values - self.medians) / self.scales * self.directions
        strength = np.maximum(push, 0.0) * self.weights
        order = np.argsort(-strength, axis=1, kind="stable")[:, :top]
        result: list[list[str]] = []
        for row, columns in enumerate(order):
            result.append(
                [
                    f"{names[column]}={values[row, column]:.3g} (typical {self.medians[column]:.3g})"
                    for column in columns
                    if strength[row, column] > 0
                ]
            )
        return result


@dataclass
class ChurnModel:
    """One churn model: fit on training rows, predict probabilities, explain scores, describe itself.

    Parameters
    ----------
    spec
        What model it is (see `ModelSpec`).

    >>> from consumers.churn.features import FEATURE_COLUMNS
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame(rng.exponential(10.0, (400, len(FEATURE_COLUMNS))),
    ...     columns=list(FEATURE_COLUMNS))
    >>> frame["churned"] = frame["recency_days"] > 20
    >>> model = ChurnModel(ModelSpec.parse("decision_tree+oversample", max_depth=2, min_samples_leaf=5))
    >>> _ = model.fit(TrainingRows(frame))
    >>> probability = model.predict_proba(frame)
    >>> bool(probability[frame["churned"]].mean() > 0.9 > 0.1 > probability[~frame["churned"]].mean())
    True
    >>> model.reasons(frame[frame["churned"]].head(1), top=1)[0][0].startswith("recency_days=")
    True
    >>> "recency_days" in model.describe()
    True
    """

    spec: ModelSpec
    last_fit_cpu_seconds: float = 0.0
    rows_learnt: int = 0
    _estimator: Any = field(default=None, repr=False)
    #: Multiplies the learnt odds back to the population's (see the module docstring).
    _correction: float = 1.0
    _positive_weight: float = 1.0
    _explainer: _Explainer | None = field(default=None, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return self.spec.features

    @property
    def fitted(self) -> bool:
        return self._estimator is not None

    # -- training ---------------------------------------------------------------------------------------
    def fit(self, rows: TrainingRows) -> float:
        """Train from scratch on `rows` (batch kinds), or learn `rows` on top of what was learnt
        (incremental kinds: pass only the newly labelled rows). Returns the CPU seconds it took."""
        if len(rows) == 0:
            raise ValueError("no training rows")
        started = time.process_time()
        if self.spec.incremental:
            self._learn_incremental(rows)
        else:
            self._fit_batch(rows)
        if self._explainer is None or not self.spec.incremental:
            self._explainer = _Explainer.fit(
                rows.frame[list(self.names)], rows.labels, self.importances().to_numpy()
            )
        self.last_fit_cpu_seconds = time.process_time() - started
        return self.last_fit_cpu_seconds

    def _fit_batch(self, rows: TrainingRows) -> None:
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer, StandardScaler
        from sklearn.tree import DecisionTreeClassifier

        spec = self.spec
        original = rows.labels
        if spec.sampling == "oversample":
            rows = oversample(rows, target_share=spec.oversample_share, seed=spec.seed)
        labels = rows.labels
        values = rows.frame[list(self.names)].to_numpy(dtype="float64")
        class_weight = "balanced" if spec.sampling == "class_weight" else None
        estimator: Any
        if spec.kind in ("recency", "logistic_rfm"):
            estimator = make_pipeline(
                FunctionTransformer(np.log1p),  # RFM values are heavy-tailed; logs make them near-linear
                StandardScaler(),
                LogisticRegression(class_weight=class_weight, max_iter=1_000),
            )
            values = np.maximum(values, 0.0)
        elif spec.kind == "decision_tree":
            estimator = DecisionTreeClassifier(
                max_depth=spec.max_depth,
                min_samples_leaf=spec.min_samples_leaf,
                class_weight=class_weight,
                random_state=spec.seed,
            )
        else:
            estimator = RandomForestClassifier(
                n_estimators=spec.trees,
                max_depth=spec.max_depth,
                min_samples_leaf=spec.min_samples_leaf,
                class_weight=class_weight,
                random_state=spec.seed,
                n_jobs=spec.jobs,
                max_samples=spec.max_samples,
            )
        estimator.fit(values, labels.to_numpy())
        self._estimator = estimator
        self.rows_learnt = len(rows)
        self._correction = self._prior_correction(original, labels)

    def _prior_correction(self, original: pd.Series, learnt: pd.Series) -> float:
        positives, negatives = float(original.sum()), float((~original).sum())
        if positives == 0 or negatives == 0:
            return 1.0
        if self.spec.sampling == "oversample":
            return (positives / negatives) / (float(learnt.sum()) / float((~learnt).sum()))
        if self.spec.sampling == "class_weight":
            # "balanced" weighs a class by n / (2 n_class): a churner counts negatives / positives times more.
            return positives / negatives
        return 1.0

    def _learn_incremental(self, rows: TrainingRows) -> None:
        from river import forest, imblearn, tree

        spec = self.spec
        labels = rows.labels
        if self._estimator is None:
            classifier: Any
            if spec.kind == "hoeffding_tree":
                classifier = tree.HoeffdingTreeClassifier(max_depth=spec.max_depth, grace_period=100)
            else:
                classifier = forest.ARFClassifier(
                    n_models=min(spec.trees, 10), max_depth=spec.max_depth, seed=spec.seed
                )
            if spec.sampling == "oversample":
                share = spec.oversample_share
                classifier = imblearn.RandomOverSampler(
                    classifier, desired_dist={True: share, False: 1.0 - share}, seed=spec.seed
                )
            self._estimator = classifier
            positives = float(labels.sum())
            negatives = float(len(labels) - positives)
            # Fixed at the first update, so later updates do not change what a probability means.
            self._positive_weight = negatives / positives if positives else 1.0
            if spec.sampling == "oversample" and positives and negatives:
                self._correction = (positives / negatives) / (share / (1.0 - share))
            elif spec.sampling == "class_weight":
                self._correction = 1.0 / self._positive_weight
        weight = self._positive_weight if spec.sampling == "class_weight" else 1.0
        records = rows.frame[list(self.names)].astype("float64").to_dict("records")
        for record, label in zip(records, labels.tolist(), strict=True):
            if spec.sampling == "class_weight" and label:
                self._estimator.learn_one(record, label, w=weight)
            else:
                self._estimator.learn_one(record, label)
        self.rows_learnt += len(records)

    # -- prediction -------------------------------------------------------------------------------------
    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of churn for each row (prior-corrected when sampling or weights shifted it)."""
        if self._estimator is None:
            raise RuntimeError("the model is not trained")
        if len(features) == 0:
            return np.zeros(0)
        values = features[list(self.names)]
        if self.spec.incremental:
            raw = np.array(
                [
                    self._estimator.predict_proba_one(record).get(True, 0.0)
                    for record in values.astype("float64").to_dict("records")
                ]
            )
        else:
            matrix = values.to_numpy(dtype="float64")
            if self.spec.kind in ("recency", "logistic_rfm"):
                matrix = np.maximum(matrix, 0.0)
            classes = list(self._estimator.classes_)
            probabilities = self._estimator.predict_proba(matrix)
            raw = probabilities[:, classes.index(True)] if True in classes else np.zeros(len(matrix))
        if self._correction == 1.0:
            return np.clip(raw, 0.0, 1.0)
        odds = raw / np.maximum(1.0 - raw, 1e-12) * self._correction
        return np.clip(odds / (1.0 + odds), 0.0, 1.0)

    def reasons(self, features: pd.DataFrame, top: int = 3) -> list[list[str]]:
        """Up to `top` features per row that push its risk up most, as `name=value (typical median)`."""
        if self._explainer is None:
            raise RuntimeError("the model is not trained")
        return self._explainer.reasons(features[list(self.names)], self.names, top)

    def importances(self) -> pd.Series:
        """Feature importances (trees, forests), absolute standardised coefficients (logistic), or equal
        weights (River trees, which expose none)."""
        estimator = self._estimator
        if estimator is not None and hasattr(estimator, "feature_importances_"):
            values = np.asarray(estimator.feature_importances_, dtype="float64")
        elif estimator is not None and hasattr(estimator, "steps"):
            values = np.abs(estimator.steps[-1][1].coef_[0])
        else:
            values = np.ones(len(self.names))
        total = values.sum()
        return pd.Series(values / total if total > 0 else values, index=list(self.names))

    def describe(self) -> str:
        """The tree's rules (`export_text`), or the importances of the other kinds, as text."""
        from sklearn.tree import export_text

        if self._estimator is None:
            return "(not trained)"
        if self.spec.kind == "decision_tree":
            return str(export_text(self._estimator, feature_names=list(self.names), decimals=2))
        importances = self.importances().sort_values(ascending=False)
        label = "coefficient size" if self.spec.kind in ("recency", "logistic_rfm") else "importance"
        return "\n".join(f"{name:<26} {label} {value:.3f}" for name, value in importances.items())

    def with_spec(self, **changes: Any) -> ChurnModel:
        """A fresh, untrained model with some settings changed."""
        return ChurnModel(replace(self.spec, **changes))
