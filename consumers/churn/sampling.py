"""Oversampling churners by duplication, on training rows only.

Training and evaluation rows are different types: `oversample` accepts `TrainingRows` and refuses
anything else, so an evaluation set can never be oversampled by mistake (which would inflate its scores).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from consumers.churn.labels import CUTOFF_COLUMN, LABEL_COLUMN
from consumers.churn.weeks import IsoWeek, week_indices


@dataclass(frozen=True)
class TrainingRows:
    """Rows a model may learn from (features, `churned`), possibly with duplicated churners.

    Parameters
    ----------
    frame
        The rows.
    duplicates
        How many rows are duplicates added by oversampling.

    >>> rows = TrainingRows(pd.DataFrame({"x": [1.0, 2.0, 3.0], "churned": [False, False, True]}))
    >>> rows.positive_share
    0.333...
    """

    frame: pd.DataFrame
    duplicates: int = 0

    @property
    def labels(self) -> pd.Series:
        return self.frame[LABEL_COLUMN].astype(bool)

    @property
    def positive_share(self) -> float:
        return float(self.labels.mean()) if len(self.frame) else 0.0

    def __len__(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class EvaluationRows:
    """Rows a model is judged on; never resampled.

    Parameters
    ----------
    frame
        The rows (features, `churned`).

    >>> len(EvaluationRows(pd.DataFrame({"churned": [True]})))
    1
    """

    frame: pd.DataFrame

    @property
    def labels(self) -> pd.Series:
        return self.frame[LABEL_COLUMN].astype(bool)

    def __len__(self) -> int:
        return len(self.frame)


def split_by_cutoff(
    examples: pd.DataFrame, evaluation_cutoff: IsoWeek, horizon_weeks: int
) -> tuple[TrainingRows, EvaluationRows]:
    """Training rows: cut-offs whose labels were known at `evaluation_cutoff` (cut-off + H <= it).
    Evaluation rows: the rows of `evaluation_cutoff`. Nothing in between, so no label leaks.

    >>> examples = pd.DataFrame({"cutoff": ["2026-W01", "2026-W02", "2026-W10"],
    ...     "churned": [True, False, True]})
    >>> training, evaluation = split_by_cutoff(examples, IsoWeek(2026, 10), 8)
    >>> training.frame["cutoff"].tolist(), evaluation.frame["cutoff"].tolist()
    (['2026-W01', '2026-W02'], ['2026-W10'])
    """
    weeks = week_indices(examples[CUTOFF_COLUMN])
    known = weeks + horizon_weeks <= evaluation_cutoff.index
    return (
        TrainingRows(examples[known].reset_index(drop=True)),
        EvaluationRows(examples[weeks == evaluation_cutoff.index].reset_index(drop=True)),
    )


def oversample(rows: TrainingRows, target_share: float = 0.5, seed: int = 0) -> TrainingRows:
    """Duplicate random churners (with replacement) until they are `target_share` of the rows.

    Rows already at or above the target share come back unchanged.

    >>> rows = TrainingRows(pd.DataFrame({"x": range(10), "churned": [True] + [False] * 9}))
    >>> balanced = oversample(rows, target_share=0.5, seed=1)
    >>> len(balanced), balanced.duplicates, balanced.positive_share
    (18, 8, 0.5)
    """
    if not isinstance(rows, TrainingRows):
        raise TypeError("only training rows can be oversampled, never evaluation rows")
    if not 0.0 < target_share < 1.0:
        raise ValueError("target_share must be in (0, 1)")
    labels = rows.labels
    positives = rows.frame[labels]
    negatives = int((~labels).sum())
    wanted = round(target_share * negatives / (1.0 - target_share))
    extra = wanted - len(positives)
    if extra <= 0 or positives.empty:
        return rows
    duplicates = positives.sample(n=extra, replace=True, random_state=seed)
    frame = pd.concat([rows.frame, duplicates], ignore_index=True)
    return TrainingRows(frame, rows.duplicates + extra)
