"""`ModelSpec`: which churn model, and how it treats the imbalance; kept apart from the models themselves so
that reading the settings (every CLI start, every service) does not import pandas and scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = ["INCREMENTAL_KINDS", "MODEL_KINDS", "SAMPLINGS", "ModelKind", "ModelSpec", "Sampling"]

ModelKind = Literal["recency", "logistic_rfm", "decision_tree", "random_forest", "hoeffding_tree", "arf"]
Sampling = Literal["none", "oversample", "class_weight"]
MODEL_KINDS: tuple[str, ...] = get_args(ModelKind)
SAMPLINGS: tuple[str, ...] = get_args(Sampling)
INCREMENTAL_KINDS: tuple[str, ...] = ("hoeffding_tree", "arf")


@dataclass(frozen=True)
class ModelSpec:
    """Which model, how it treats the imbalance, and its few knobs.

    Parameters
    ----------
    kind
        One of `MODEL_KINDS`.
    sampling
        `none`, `oversample` or `class_weight`.
    max_depth
        Depth limit of the decision tree and of the forest's trees (kept small: readable rules).
    trees
        Trees in the random forest; models in River's ARF are `min(trees, 10)`.
    jobs
        Cores scikit-learn's forest uses (its result does not depend on it).
    max_samples
        Share of the training rows each forest tree draws (None: as many as there are); smaller is
        faster on large bases.
    min_samples_leaf
        Smallest leaf of the scikit-learn trees.
    oversample_share
        Share of churners after oversampling.
    seed
        Seed of everything random in the model.

    >>> spec = ModelSpec.parse("decision_tree+class_weight")
    >>> spec.kind, spec.sampling, spec.name, spec.incremental
    ('decision_tree', 'class_weight', 'decision_tree+class_weight', False)
    """

    kind: ModelKind = "random_forest"
    sampling: Sampling = "oversample"
    max_depth: int = 6
    trees: int = 50
    min_samples_leaf: int = 20
    oversample_share: float = 0.5
    seed: int = 0
    jobs: int = 1
    max_samples: float | None = None

    @classmethod
    def parse(cls, text: str, **options: Any) -> ModelSpec:
        """`kind` or `kind+sampling` (sampling defaults to none); a clear ValueError otherwise."""
        kind, _, sampling = text.strip().partition("+")
        sampling = sampling or "none"
        if kind not in MODEL_KINDS:
            raise ValueError(f"unknown model {kind!r} (choose from {', '.join(MODEL_KINDS)})")
        if sampling not in SAMPLINGS:
            raise ValueError(f"unknown sampling {sampling!r} (choose from {', '.join(SAMPLINGS)})")
        return cls(kind=kind, sampling=sampling, **options)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        """`kind+sampling`, or just `kind` without sampling."""
        return self.kind if self.sampling == "none" else f"{self.kind}+{self.sampling}"

    @property
    def incremental(self) -> bool:
        return self.kind in INCREMENTAL_KINDS

    @property
    def features(self) -> tuple[str, ...]:
        from consumers.churn.features import FEATURE_COLUMNS, RFM_COLUMNS

        if self.kind == "recency":
            return ("recency_days",)
        if self.kind == "logistic_rfm":
            return RFM_COLUMNS
        return FEATURE_COLUMNS
