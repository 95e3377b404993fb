"""Scores of the week: probability, risk band, top reasons, model version, expected lost value.

The expected lost value is `probability x monetary value`, the monetary value being the customer's
purchases over the last 13 weeks: what a quarter of the customer's business is worth, weighted by the risk
of losing it. The at-risk list is ordered by it (ties by customer id, so the order is reproducible) and
written as Parquet and CSV, each atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from consumers.churn.atomic import atomic_file
from consumers.churn.models import ChurnModel
from consumers.churn.weeks import IsoWeek
from contracts import ChurnScore

SCORE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "week",
    "probability",
    "risk_band",
    "monetary_value",
    "expected_lost_value",
    "top_reasons",
    "model_name",
    "model_version",
)


def risk_bands(probabilities: np.ndarray, medium: float, high: float) -> np.ndarray:
    """`low`, `medium` (from `medium`) or `high` (from `high`) for each probability.

    >>> risk_bands(np.array([0.05, 0.3, 0.9]), 0.2, 0.5).tolist()
    ['low', 'medium', 'high']
    """
    return np.where(probabilities >= high, "high", np.where(probabilities >= medium, "medium", "low"))


def model_version(week: IsoWeek) -> int:
    """The version of the model trained for `week`: 202648 for 2026-W48 (one model per week, re-runs equal).

    >>> model_version(IsoWeek(2026, 48))
    202648
    """
    return week.year * 100 + week.week


def score_customers(
    model: ChurnModel,
    features: pd.DataFrame,
    week: IsoWeek,
    medium: float = 0.2,
    high: float = 0.5,
    top_reasons: int = 3,
) -> pd.DataFrame:
    """One row per customer of `features` (indexed by customer id), ordered by expected lost value.

    `top_reasons` is a list of texts per row (`"; "`-joined in the CSV).
    """
    probabilities = np.round(model.predict_proba(features), 6)
    monetary = features["monetary_13w"].to_numpy(dtype="float64")
    frame = pd.DataFrame(
        {
            "customer_id": features.index.astype("str"),
            "week": str(week),
            "probability": probabilities,
            "risk_band": risk_bands(probabilities, medium, high),
            "monetary_value": np.round(monetary, 2),
            "expected_lost_value": np.round(probabilities * monetary, 2),
            "top_reasons": model.reasons(features, top=top_reasons) if len(features) else [],
            "model_name": model.spec.name,
            "model_version": model_version(week),
        }
    )
    return frame.sort_values(
        ["expected_lost_value", "customer_id"], ascending=[False, True], kind="stable", ignore_index=True
    )[list(SCORE_COLUMNS)]


def at_risk_list(scores: pd.DataFrame, min_probability: float) -> pd.DataFrame:
    """The customers at or above `min_probability`, already ordered by expected lost value, ranked from 1."""
    frame = scores[scores["probability"] >= min_probability].reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame


def write_at_risk_list(frame: pd.DataFrame, directory: Path) -> tuple[Path, Path]:
    """`at_risk.parquet` and `at_risk.csv` in `directory`, each written then renamed."""
    parquet = directory / "at_risk.parquet"
    csv = directory / "at_risk.csv"
    with atomic_file(parquet) as temporary:
        frame.to_parquet(temporary, compression="zstd", index=False)
    flat = frame.assign(top_reasons=frame["top_reasons"].map(lambda reasons: "; ".join(reasons)))
    with atomic_file(csv) as temporary:
        flat.to_csv(temporary, index=False, float_format="%.6g")
    return parquet, csv


def score_records(scores: pd.DataFrame, week: IsoWeek, horizon_weeks: int) -> list[ChurnScore]:
    """The scores as `ChurnScore` events for the `churn-scores` topic."""
    end = float(week.end_seconds)
    rows: list[dict[Any, Any]] = scores.to_dict("records")
    return [
        ChurnScore(
            customer_id=str(row["customer_id"]),
            week=str(week),
            event_time=end,
            probability=float(row["probability"]),
            risk_band=row["risk_band"],
            horizon_weeks=horizon_weeks,
            monetary_value=float(row["monetary_value"]),
            expected_lost_value=float(row["expected_lost_value"]),
            top_reasons=[str(reason) for reason in row["top_reasons"]][:8],
            model_name=str(row["model_name"]),
            model_version=int(row["model_version"]),
        )
        for row in rows
    ]
